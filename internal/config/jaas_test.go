package config

import (
	"errors"
	"maps"
	"testing"
)

func TestParseJAAS(t *testing.T) {
	e, err := ParseJAAS(`org.apache.kafka.common.security.plain.PlainLoginModule required
		username="admin" password="admin-secret" user_admin="admin-secret" user_alice="al\"ice;x" debug=true;`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"username": "admin", "password": "admin-secret", "user_admin": "admin-secret",
		"user_alice": `al"ice;x`, "debug": "true"}
	if e.LoginModule != "org.apache.kafka.common.security.plain.PlainLoginModule" || e.Flag != "required" || !maps.Equal(e.Options, want) {
		t.Fatalf("got %+v", e)
	}
	for _, bad := range []string{
		``, `Module;`, `Module required`, `Module required user="x"`, `Module required user=;`,
		`Module required user="x;`, `Module required user "x";`, `Module required a="1"; Other required b="2";`,
	} {
		if _, err := ParseJAAS(bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%q: err %v, want ErrInvalidConfig", bad, err)
		}
	}
}

func FuzzParseJAAS(f *testing.F) {
	f.Add(`org.apache.kafka.common.security.scram.ScramLoginModule required username="a" password="b\\c";`)
	f.Add(`M optional k=v;`)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseJAAS(s)
		if err == nil && (e.Flag == "" || e.Options == nil) {
			t.Fatalf("accepted %q as %+v", s, e)
		}
	})
}
