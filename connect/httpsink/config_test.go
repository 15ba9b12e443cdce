package httpsink_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fjordhq/fjord/connect"
	"github.com/fjordhq/fjord/connect/httpsink"
)

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config map[string]string
		key    string // the key Validate reports on
		want   string
	}{
		{"missing URL", map[string]string{}, httpsink.URLConfig, `Missing required configuration "http.api.url"`},
		{"not http", map[string]string{httpsink.URLConfig: "ftp://example.com/x"}, httpsink.URLConfig,
			"Invalid value ftp://example.com/x for configuration http.api.url: must be an absolute http or https URL"},
		{"relative URL", map[string]string{httpsink.URLConfig: "/events"}, httpsink.URLConfig, "must be an absolute http or https URL"},
		{"unparsable URL", map[string]string{httpsink.URLConfig: "http://a b/%zz"}, httpsink.URLConfig, "not a URL"},
		{"GET", map[string]string{httpsink.URLConfig: "http://x", httpsink.MethodConfig: "GET"}, httpsink.MethodConfig,
			"String must be one of (case insensitive): POST, PUT, PATCH"},
		{"header without colon", map[string]string{httpsink.URLConfig: "http://x", httpsink.HeadersConfig: "A:1|Bearer xyz"},
			httpsink.HeadersConfig, `header "Bearer xyz" is not Name:Value (headers are separated by "|")`},
		{"header name with space", map[string]string{httpsink.URLConfig: "http://x", httpsink.HeadersConfig: "X Y:1"},
			httpsink.HeadersConfig, `header name "X Y" is not a valid HTTP header name`},
		{"header separator", map[string]string{httpsink.URLConfig: "http://x", httpsink.HeadersConfig: "A:1,B:2", httpsink.HeaderSeparatorConfig: ","},
			"", ""},
		{"basic without user", map[string]string{httpsink.URLConfig: "http://x", httpsink.AuthTypeConfig: "BASIC"},
			httpsink.UserConfig, "auth.type=BASIC needs connection.user"},
		{"basic and Authorization", map[string]string{httpsink.URLConfig: "http://x", httpsink.AuthTypeConfig: "basic",
			httpsink.UserConfig: "u", httpsink.HeadersConfig: "Authorization:Bearer t"}, httpsink.HeadersConfig, "use one or the other"},
		{"unknown auth", map[string]string{httpsink.URLConfig: "http://x", httpsink.AuthTypeConfig: "oauth2"},
			httpsink.AuthTypeConfig, "String must be one of (case insensitive): NONE, BASIC"},
		{"batch size 0", map[string]string{httpsink.URLConfig: "http://x", httpsink.BatchMaxSizeConfig: "0"},
			httpsink.BatchMaxSizeConfig, "Value must be at least 1"},
		{"body format", map[string]string{httpsink.URLConfig: "http://x", httpsink.BodyFormatConfig: "avro"},
			httpsink.BodyFormatConfig, "String must be one of (case insensitive): STRING, JSON"},
		{"negative retries", map[string]string{httpsink.URLConfig: "http://x", httpsink.MaxRetriesConfig: "-1"},
			httpsink.MaxRetriesConfig, "Value must be at least 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			connector := &httpsink.HttpSinkConnector{}
			err := connector.Start(nil, tc.config)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Start: %v", err)
				}
				return
			}
			if !errors.Is(err, connect.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Start: %v\nwant an ErrInvalidConfig with %q", err, tc.want)
			}
			var found bool
			for _, v := range connector.Validate(tc.config) {
				for _, e := range v.Errors {
					if v.Name == tc.key && strings.Contains(e, tc.want) {
						found = true
					} else if v.Name != tc.key {
						t.Errorf("Validate reports on %s: %s", v.Name, e)
					}
				}
			}
			if !found {
				t.Errorf("Validate reports no %q on %s", tc.want, tc.key)
			}
		})
	}
}

func TestPasswordStaysHidden(t *testing.T) {
	config := map[string]string{httpsink.URLConfig: "http://user:pw@x", httpsink.AuthTypeConfig: "basic",
		httpsink.PasswordConfig: "hunter2"}
	connector := &httpsink.HttpSinkConnector{}
	err := connector.Start(nil, config)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Start: %v", err)
	}
	for _, v := range connector.Validate(config) {
		if v.Name == httpsink.PasswordConfig && len(v.Errors) > 0 {
			t.Errorf("password errors %v", v.Errors)
		}
	}
}

func TestRegister(t *testing.T) {
	r := connect.NewRegistry()
	if err := httpsink.Register(r); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{httpsink.Class, "HttpSinkConnector", "HttpSink"} {
		p, err := r.Lookup(name)
		if err != nil || p.Type != connect.PluginSink || p.Version != httpsink.Version {
			t.Errorf("Lookup(%s) = %+v, %v", name, p, err)
		}
	}
	if err := httpsink.Register(r); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Errorf("registering twice: %v", err)
	}
	keys := (&httpsink.HttpSinkConnector{}).Config().Keys()
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
	}
	for _, want := range []string{"http.api.url", "request.method", "headers", "header.separator", "batch.max.size",
		"batch.prefix", "batch.suffix", "batch.separator", "request.body.format", "max.retries", "retry.backoff.ms",
		"http.request.timeout.ms", "auth.type", "connection.user", "connection.password", "behavior.on.null.values"} {
		if !strings.Contains(strings.Join(names, " ")+" ", want+" ") {
			t.Errorf("configuration has no %s: %v", want, names)
		}
	}
}
