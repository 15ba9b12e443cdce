package lag

import (
	"encoding/json"
	"net/http"
)

// Handler serves the monitor's snapshot as JSON:
//
//	GET /api/v1/groups/lag           {"groups": [GroupLag...]}
//	GET /api/v1/groups/{group}/lag   GroupLag, or 404 for a group this
//	                                 node does not report
//
// Mount it at /api/v1/ (it matches full paths).
func (m *Monitor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/groups/lag", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, struct {
			Groups []GroupLag `json:"groups"`
		}{m.Groups()})
	})
	mux.HandleFunc("GET /api/v1/groups/{group}/lag", func(w http.ResponseWriter, r *http.Request) {
		g, ok := m.Group(r.PathValue("group"))
		if !ok {
			writeJSON(w, http.StatusNotFound, struct {
				Error string `json:"error"`
			}{"group " + r.PathValue("group") + " is not reported by this node: unknown, coordinated by another node, or not sampled yet"})
			return
		}
		writeJSON(w, http.StatusOK, g)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	// The status line is sent; an encoding error can only be a closed
	// connection, which the client sees.
	_ = json.NewEncoder(w).Encode(v)
}
