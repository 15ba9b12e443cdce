package lag

import (
	"errors"
	"testing"
)

// TestLagAPIHostPort: the lag API is at http.listener's host, or at the
// broker's advertised host when it listens on every address; no listener
// (or an older node's port 0) is ErrNoLagAPI.
func TestLagAPIHostPort(t *testing.T) {
	tests := []struct{ listener, advertised, want string }{
		{"127.0.0.1:8080", "broker1", "127.0.0.1:8080"},
		{"0.0.0.0:8080", "broker1", "broker1:8080"},
		{":8080", "broker1", "broker1:8080"},
		{"[::]:8080", "broker1", "broker1:8080"},
		{"web.example:9644", "broker1", "web.example:9644"},
	}
	for _, tt := range tests {
		got, err := lagAPIHostPort(tt.listener, tt.advertised)
		if err != nil || got != tt.want {
			t.Errorf("lagAPIHostPort(%q) = %q, %v; want %q", tt.listener, got, err, tt.want)
		}
	}
	if _, err := lagAPIHostPort("", "broker1"); err != ErrNoLagAPI {
		t.Errorf("no listener: %v, want ErrNoLagAPI", err)
	}
	if _, err := lagAPIHostPort("127.0.0.1:0", "broker1"); !errors.Is(err, ErrNoLagAPI) {
		t.Errorf("port 0: %v, want ErrNoLagAPI", err)
	}
	if _, err := lagAPIHostPort("nonsense", "broker1"); err == nil {
		t.Error("a listener without a port is accepted")
	}
}
