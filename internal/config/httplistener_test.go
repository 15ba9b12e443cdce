package config

import (
	"errors"
	"testing"
)

// TestHTTPListener: http.listener is off unless set, takes HOST:PORT (port
// 0 included), refuses anything else, and is listed as a static broker
// config by DescribeConfigs.
func TestHTTPListener(t *testing.T) {
	b, err := ParseBroker(map[string]string{})
	if err != nil || b.HTTPListener != "" {
		t.Fatalf("default http.listener %q, %v; want off", b.HTTPListener, err)
	}
	for _, ok := range []string{"127.0.0.1:8080", "127.0.0.1:0", ":9644", "[::1]:8080"} {
		if b, err := ParseBroker(map[string]string{"http.listener": ok}); err != nil || b.HTTPListener != ok {
			t.Errorf("http.listener=%s: %q, %v", ok, b.HTTPListener, err)
		}
	}
	for _, bad := range []string{"8080", "localhost:http-alt", "127.0.0.1:70000", "127.0.0.1"} {
		if _, err := ParseBroker(map[string]string{"http.listener": bad}); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("http.listener=%s accepted (%v)", bad, err)
		}
	}
	for _, e := range DescribeBroker(map[string]string{"http.listener": "127.0.0.1:8080"}, nil) {
		if e.Name == "http.listener" {
			if e.Value != "127.0.0.1:8080" || e.Source != SourceStaticBroker || !e.ReadOnly {
				t.Fatalf("http.listener described as %+v", e)
			}
			return
		}
	}
	t.Fatal("DescribeConfigs does not list http.listener")
}
