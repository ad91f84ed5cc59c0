// Package honeycomb serves Honeycomb's public HTTP API: the events API
// (/1/events, /1/batch), the query API (/1/queries, /1/query_results), and the
// dataset, column and auth endpoints. It translates between Honeycomb's wire
// shapes and waggle's event model, ingest pipeline and query engine.
package honeycomb

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// API holds what the Honeycomb handlers need.
type API struct {
	Store    store.Store
	Pipeline *ingest.Pipeline
	Auth     tenant.Authenticator
	Engine   *query.Engine
	Log      *slog.Logger
	// Now returns the current time; tests may replace it.
	Now func() time.Time
	// Alerting serves boards, markers, query annotations, recipients,
	// triggers and query history (triggers.go); nil leaves them out.
	Alerting *Alerting

	// expandCache keeps datasets' expand_json_depth for the events API
	// (events_settings.go).
	expandCache expandCache
}

// Register adds every Honeycomb route to mux.
func (a *API) Register(mux *http.ServeMux) {
	if a.Log == nil {
		a.Log = slog.Default()
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	a.registerEvents(mux)
	a.registerQueries(mux)
	a.registerManagement(mux)
}

// teamHeader is the header every /1 endpoint authenticates with.
const teamHeader = "X-Honeycomb-Team"

// authenticate resolves the request's key and checks perm. On failure it
// writes Honeycomb's error response and returns nil.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request, perm tenant.Permission) *tenant.Principal {
	secret := r.Header.Get(teamHeader)
	if secret == "" {
		secret = r.Header.Get("X-Hny-Team")
	}
	p, err := a.Auth.Authenticate(r.Context(), secret)
	if err != nil {
		if errors.Is(err, tenant.ErrUnknownKey) {
			writeError(w, http.StatusUnauthorized, "unknown API key - check your credentials")
			return nil
		}
		a.Log.Error("authenticate", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return nil
	}
	if perm != "" && !p.Can(perm) {
		writeError(w, http.StatusUnauthorized, "API key is missing the permission: "+string(perm))
		return nil
	}
	return p
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes Honeycomb's legacy error body {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
