package connect

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ErrUnknownPlugin is wrapped by the errors of Registry.Lookup.
var ErrUnknownPlugin = errors.New("connect: unknown plugin")

// PluginType is the kind of a plugin, as GET /connector-plugins names it.
type PluginType string

// The plugin types of connectors. Transformations and predicates have
// theirs (see transform.go); converters, registered later, will have
// Kafka's "converter" and "header_converter".
const (
	PluginSource PluginType = "source"
	PluginSink   PluginType = "sink"
)

// Plugin is a connector compiled into the worker: a class name in Kafka's
// style, which users put in connector.class, and a factory.
type Plugin struct {
	// Class is the plugin's full name, such as
	// "org.apache.kafka.connect.file.FileStreamSourceConnector".
	Class string
	// Aliases are other names that find the plugin. Register adds Kafka's
	// automatic ones: the class's simple name (after the last dot) and,
	// for connectors, that name without the "Connector" suffix
	// ("FileStreamSource").
	Aliases []string
	// New returns a new, unstarted connector. It must be cheap and have no
	// side effects: Register and the worker call it to ask a connector its
	// version, configuration or capabilities.
	New func() Connector
	// Type and Version are filled in by Register from an instance.
	Type    PluginType
	Version string
}

// PluginInfo is one entry of GET /connector-plugins, with Kafka's JSON.
type PluginInfo struct {
	Class   string     `json:"class"`
	Type    PluginType `json:"type"`
	Version string     `json:"version,omitempty"`
}

// Registry is the set of plugins a worker can run: a program builds one,
// registers the connectors it was compiled with, and hands it to the
// worker. There is no global registry. A Registry is safe for concurrent
// use.
type Registry struct {
	mu struct {
		sync.RWMutex
		byClass map[string]Plugin
		byAlias map[string][]string // alias -> classes, several if ambiguous

		transformations pluginSet[TransformationPlugin]
		predicates      pluginSet[PredicatePlugin]
	}
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	r := &Registry{}
	r.mu.byClass = map[string]Plugin{}
	r.mu.byAlias = map[string][]string{}
	return r
}

// Register adds a plugin. It makes one instance with New to learn its type
// and version. It fails if the class is empty or registered already, if New
// is nil or makes neither a SourceConnector nor a SinkConnector, or if an
// explicit alias is another plugin's class name. An automatic alias that
// two plugins share finds neither (Lookup reports it as ambiguous).
func (r *Registry) Register(p Plugin) error {
	if p.Class == "" || p.New == nil {
		return fmt.Errorf("connect: register plugin %q: a class name and a New function are required", p.Class)
	}
	probe := p.New()
	switch probe.(type) {
	case SourceConnector:
		p.Type = PluginSource
	case SinkConnector:
		p.Type = PluginSink
	default:
		return fmt.Errorf("connect: register plugin %s: %T is neither a SourceConnector nor a SinkConnector", p.Class, probe)
	}
	p.Version = probe.Version()
	p.Aliases = pluginAliases(p)

	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.mu.byClass[p.Class]; dup {
		return fmt.Errorf("connect: register plugin %s: already registered", p.Class)
	}
	for _, a := range p.Aliases {
		if _, clash := r.mu.byClass[a]; clash && a != p.Class {
			return fmt.Errorf("connect: register plugin %s: alias %s is the class of another plugin", p.Class, a)
		}
	}
	r.mu.byClass[p.Class] = p
	for _, a := range p.Aliases {
		r.mu.byAlias[a] = append(r.mu.byAlias[a], p.Class)
	}
	return nil
}

// pluginAliases returns the explicit aliases and Kafka's automatic ones,
// without duplicates or the class itself.
func pluginAliases(p Plugin) []string {
	simple := p.Class[strings.LastIndexByte(p.Class, '.')+1:]
	all := append(slices.Clone(p.Aliases), simple)
	if pruned, ok := strings.CutSuffix(simple, "Connector"); ok && pruned != "" {
		all = append(all, pruned)
	}
	var out []string
	for _, a := range all {
		if a != "" && a != p.Class && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Lookup finds a plugin by class name or alias, as connector.class and the
// REST paths name them.
func (r *Registry) Lookup(nameOrAlias string) (Plugin, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if p, ok := r.mu.byClass[nameOrAlias]; ok {
		return p, nil
	}
	switch classes := r.mu.byAlias[nameOrAlias]; len(classes) {
	case 0:
		return Plugin{}, fmt.Errorf("%w: no connector plugin has class or alias %q", ErrUnknownPlugin, nameOrAlias)
	case 1:
		return r.mu.byClass[classes[0]], nil
	default:
		return Plugin{}, fmt.Errorf("%w: alias %q names several plugins (%s): use the class name",
			ErrUnknownPlugin, nameOrAlias, strings.Join(classes, ", "))
	}
}

// Plugins lists the registered plugins for GET /connector-plugins, sorted
// by class name.
func (r *Registry) Plugins() []PluginInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]PluginInfo, 0, len(r.mu.byClass))
	for _, p := range r.mu.byClass {
		out = append(out, PluginInfo{Class: p.Class, Type: p.Type, Version: p.Version})
	}
	slices.SortFunc(out, func(a, b PluginInfo) int { return cmp.Compare(a.Class, b.Class) })
	return out
}
