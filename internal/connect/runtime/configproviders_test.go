package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigProvidersResolve(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets.properties")
	if err := os.WriteFile(secrets, []byte("pg.password=s3cret\npg.user=app\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("t0ken"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FJORD_TEST_SECRET", "from-env")
	p, err := parseConfigProviders(map[string]string{"config.providers": "file, dir,env",
		"config.providers.file.class": fileConfigProviderClass, "config.providers.dir.class": "DirectoryConfigProvider",
		"config.providers.env.class": envConfigProviderClass})
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]string{
		"connection.password": "${file:" + secrets + ":pg.password}",
		"connection.url":      "postgres://${file:" + secrets + ":pg.user}@db/shop",
		"token":               "${dir:" + dir + ":token}",
		"env":                 "${env:FJORD_TEST_SECRET}",
		"unknown":             "${vault:secret/x:y}",
		"plain":               "$notavariable",
	}
	got, err := p.resolve(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"connection.password": "s3cret", "connection.url": "postgres://app@db/shop", "token": "t0ken",
		"env": "from-env", "unknown": "${vault:secret/x:y}", "plain": "$notavariable"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s resolved to %q, want %q", k, got[k], v)
		}
	}
	// A task that kept resolved values gets the variables back, so that
	// the config topic never holds the secret.
	tasks := p.unresolve(raw, []map[string]string{{"connection.password": "s3cret", "token": "other", "task": "0"}})
	if tasks[0]["connection.password"] != raw["connection.password"] || tasks[0]["token"] != "other" || tasks[0]["task"] != "0" {
		t.Errorf("unresolved task config %v", tasks[0])
	}
	for _, bad := range []map[string]string{{"x": "${file:" + secrets + ":missing}"}, {"x": "${dir:" + dir + ":../etc}"},
		{"x": "${env:FJORD_TEST_NO_SUCH_VARIABLE}"}} {
		if _, err := p.resolve(bad); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("resolve(%v) = %v, want an error that names no secret", bad, err)
		}
	}
}

func TestConfigProvidersParseErrors(t *testing.T) {
	for _, props := range []map[string]string{
		{"config.providers": "file"},
		{"config.providers": "vault", "config.providers.vault.class": "com.example.VaultConfigProvider"},
	} {
		if _, err := parseConfigProviders(props); err == nil {
			t.Errorf("parseConfigProviders(%v) accepted", props)
		}
	}
	if p, err := parseConfigProviders(map[string]string{}); err != nil || len(p) != 0 {
		t.Errorf("no providers: %v %v", p, err)
	}
}
