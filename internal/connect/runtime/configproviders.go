package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/fjordhq/fjord/internal/clientconf"
)

// Config providers (KIP-297) keep secrets out of connector configurations:
// a value such as ${file:/etc/secrets.properties:pg.password} is stored as
// written, in the config topic too, and resolved by the worker each time it
// hands the configuration to a connector or task. The worker's
// config.providers names them, config.providers.<name>.class says what
// each is; Kafka's three are built in.
const (
	keyConfigProviders = "config.providers"

	fileConfigProviderClass      = "org.apache.kafka.common.config.provider.FileConfigProvider"
	directoryConfigProviderClass = "org.apache.kafka.common.config.provider.DirectoryConfigProvider"
	envConfigProviderClass       = "org.apache.kafka.common.config.provider.EnvVarConfigProvider"
)

// configVariable is Kafka's ConfigTransformer pattern: ${provider:path:key},
// or ${provider:key} without a path.
var configVariable = regexp.MustCompile(`\$\{([^}]*?):(([^}]*?):)?([^}]*)\}`)

// configProvider looks up the value of key at path.
type configProvider func(path, key string) (string, error)

// configProviders are the worker's providers, by the name variables use.
type configProviders map[string]configProvider

// parseConfigProviders reads config.providers from a worker's properties.
func parseConfigProviders(props map[string]string) (configProviders, error) {
	out := configProviders{}
	for _, name := range strings.Split(props[keyConfigProviders], ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		class := strings.TrimSpace(props[keyConfigProviders+"."+name+".class"])
		switch class {
		case fileConfigProviderClass, "FileConfigProvider":
			out[name] = fileProvider
		case directoryConfigProviderClass, "DirectoryConfigProvider":
			out[name] = directoryProvider
		case envConfigProviderClass, "EnvVarConfigProvider":
			out[name] = envProvider
		case "":
			return nil, fmt.Errorf("config provider %s: %s.%s.class is not set", name, keyConfigProviders, name)
		default:
			return nil, fmt.Errorf("config provider %s: unknown class %s (fjord has %s, %s and %s)", name, class,
				fileConfigProviderClass, directoryConfigProviderClass, envConfigProviderClass)
		}
	}
	return out, nil
}

// fileProvider reads key from the properties file at path.
func fileProvider(path, key string) (string, error) {
	props, err := clientconf.LoadProperties(path)
	if err != nil {
		return "", err
	}
	v, ok := props[key]
	if !ok {
		return "", fmt.Errorf("%s has no key %s", path, key)
	}
	return v, nil
}

// directoryProvider reads the file named key in the directory path.
func directoryProvider(path, key string) (string, error) {
	if key == "" || strings.ContainsAny(key, `/\`) || key == ".." {
		return "", fmt.Errorf("%q is not a file name", key)
	}
	b, err := os.ReadFile(filepath.Join(path, key))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// envProvider reads the environment variable key; Kafka's takes no path.
func envProvider(path, key string) (string, error) {
	if path != "" {
		return "", fmt.Errorf("the environment has no paths (%q)", path)
	}
	v, ok := os.LookupEnv(key)
	if !ok {
		return "", fmt.Errorf("no environment variable %s", key)
	}
	return v, nil
}

// resolve returns config with its variables replaced by their values. A
// variable of a provider the worker does not have stays as written, as in
// Kafka; one whose lookup fails is an error naming the key, never its value.
func (p configProviders) resolve(config map[string]string) (map[string]string, error) {
	if len(p) == 0 || config == nil {
		return config, nil
	}
	out := make(map[string]string, len(config))
	for k, v := range config {
		var failed error
		out[k] = configVariable.ReplaceAllStringFunc(v, func(m string) string {
			parts := configVariable.FindStringSubmatch(m)
			provider, ok := p[parts[1]]
			if !ok || failed != nil {
				return m
			}
			value, err := provider(parts[3], parts[4])
			if err != nil {
				failed = fmt.Errorf("resolving %s of configuration key %s: %w", m, k, err)
				return m
			}
			return value
		})
		if failed != nil {
			return nil, failed
		}
	}
	return out, nil
}

// unresolve puts the variables of a connector's raw configuration back into
// the task configurations it generated from the resolved one, where a task
// kept a resolved value as it was (Kafka's reverseTransform): secrets are
// resolved on the worker that runs a task and never written to the config
// topic.
func (p configProviders) unresolve(raw map[string]string, tasks []map[string]string) []map[string]string {
	if len(p) == 0 {
		return tasks
	}
	resolved, err := p.resolve(raw)
	if err != nil {
		return tasks
	}
	out := make([]map[string]string, len(tasks))
	for i, task := range tasks {
		out[i] = cloneConfig(task)
		for k, v := range task {
			if r, ok := raw[k]; ok && r != v && resolved[k] == v && configVariable.MatchString(r) {
				out[i][k] = r
			}
		}
	}
	return out
}
