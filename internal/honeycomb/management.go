package honeycomb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// registerManagement adds Honeycomb's management API. Every handler is scoped
// to the environment of the presented key: a dataset, column or key of
// another environment is "not found".
//
// Permissions (a key without the one named gets 401 on /1, 403 on /2):
//
//	GET  /1/auth                                any key
//	GET  /1/datasets, /1/datasets/{slug}        a configuration key (not ingest-only)
//	POST /1/datasets, PUT|DELETE /1/datasets/{slug}        create_datasets
//	GET|POST /1/columns/{dataset}, GET|PUT|DELETE /1/columns/{dataset}/{id}
//	                                            manage_queries ("Manage Queries and Columns")
//	/2/teams/{teamSlug}/api-keys[/{id}]         manage_keys (keys of the key's own environment)
//	/2/teams/{teamSlug}/api-keys, with manage_environments: keys of any environment of the team
//	GET /2/teams/{teamSlug}/environments[/{id}] manage_keys (own environment) or manage_environments (all)
//	POST, PATCH, DELETE environments            manage_environments
func (a *API) registerManagement(mux *http.ServeMux) {
	mux.HandleFunc("GET /1/auth", a.handleAuth)

	mux.HandleFunc("GET /1/datasets", a.handleListDatasets)
	mux.HandleFunc("POST /1/datasets", a.handleCreateDataset)
	mux.HandleFunc("GET /1/datasets/{slug}", a.handleGetDataset)
	mux.HandleFunc("PUT /1/datasets/{slug}", a.handleUpdateDataset)
	mux.HandleFunc("DELETE /1/datasets/{slug}", a.handleDeleteDataset)

	mux.HandleFunc("GET /1/columns/{dataset}", a.handleListColumns)
	mux.HandleFunc("POST /1/columns/{dataset}", a.handleCreateColumn)
	mux.HandleFunc("GET /1/columns/{dataset}/{id}", a.handleGetColumn)
	mux.HandleFunc("PUT /1/columns/{dataset}/{id}", a.handleUpdateColumn)
	mux.HandleFunc("DELETE /1/columns/{dataset}/{id}", a.handleDeleteColumn)

	mux.HandleFunc("GET /2/teams/{teamSlug}/api-keys", a.handleListKeys)
	mux.HandleFunc("POST /2/teams/{teamSlug}/api-keys", a.handleCreateKey)
	mux.HandleFunc("GET /2/teams/{teamSlug}/api-keys/{id}", a.handleGetKey)
	mux.HandleFunc("PATCH /2/teams/{teamSlug}/api-keys/{id}", a.handleUpdateKey)
	mux.HandleFunc("DELETE /2/teams/{teamSlug}/api-keys/{id}", a.handleDeleteKey)
	mux.HandleFunc("GET /2/teams/{teamSlug}/environments", a.handleListEnvironments)
	mux.HandleFunc("POST /2/teams/{teamSlug}/environments", a.handleCreateEnvironment)
	mux.HandleFunc("GET /2/teams/{teamSlug}/environments/{id}", a.handleGetEnvironment)
	mux.HandleFunc("PATCH /2/teams/{teamSlug}/environments/{id}", a.handleUpdateEnvironment)
	mux.HandleFunc("DELETE /2/teams/{teamSlug}/environments/{id}", a.handleDeleteEnvironment)

	a.registerAlerting(mux)   // boards, markers, annotations, recipients, triggers, history (triggers.go)
	a.registerDerived(mux)    // derived columns (derived.go)
	a.registerSLOs(mux)       // SLOs (slos.go)
	a.registerBurnAlerts(mux) // burn alerts (burn_alerts.go)
}

// tenantAdmin is what the management handlers need beyond authentication.
// *tenant.Service provides it; API.Auth is asserted to it, so an API built
// with a bare Authenticator serves /1/auth and datasets without settings, and
// answers key management with 501.
type tenantAdmin interface {
	Keys(ctx context.Context, env event.EnvID) ([]tenant.Key, error)
	Key(ctx context.Context, env event.EnvID, id string) (tenant.Key, error)
	CreateKey(ctx context.Context, env event.EnvID, spec tenant.KeySpec) (tenant.Key, string, error)
	UpdateKey(ctx context.Context, env event.EnvID, id string, u tenant.KeyUpdate) (tenant.Key, error)
	DeleteKey(ctx context.Context, env event.EnvID, id string) error
	Environment(ctx context.Context, id event.EnvID) (tenant.Environment, error)
	Environments(ctx context.Context, team int64) ([]tenant.Environment, error)
	CreateEnvironment(ctx context.Context, team int64, spec tenant.EnvironmentSpec) (tenant.Environment, error)
	UpdateEnvironment(ctx context.Context, id event.EnvID, u tenant.EnvironmentUpdate) (tenant.Environment, error)
	DeleteEnvironment(ctx context.Context, id event.EnvID) error

	DatasetSettings(ctx context.Context, env event.EnvID, slug string) (tenant.DatasetSettings, error)
	SetDatasetSettings(ctx context.Context, env event.EnvID, slug string, s tenant.DatasetSettings) error
	DeleteDatasetSettings(ctx context.Context, env event.EnvID, slug string) error
}

// admin returns the tenant administration behind a.Auth, or nil.
func (a *API) admin() tenantAdmin {
	t, _ := a.Auth.(tenantAdmin)
	return t
}

// maxManagementBody bounds management request bodies.
const maxManagementBody = 1 << 20

// errBadBody is a request body that is not the expected JSON.
var errBadBody = errors.New("request body is not valid JSON")

// mgmtDecode reads a JSON body of at most maxManagementBody bytes into v.
// Unknown fields are allowed: clients send whole objects back.
func mgmtDecode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxManagementBody))
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errors.New("request body too large")
		}
		return errBadBody
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errBadBody
	}
	return nil
}

// mgmtTime formats a time as Honeycomb does: RFC 3339 in UTC, seconds.
func mgmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// mgmtTimePtr is mgmtTime, or nil (JSON null) for the zero time.
func mgmtTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := mgmtTime(t)
	return &s
}

// isIngestOnly reports whether a key only sends data (Honeycomb's "ingest"
// key type): its permissions are within send_events and create_datasets.
func isIngestOnly(p *tenant.Principal) bool {
	for perm, ok := range p.Perms {
		if ok && perm != tenant.PermSendEvents && perm != tenant.PermCreateDatasets {
			return false
		}
	}
	return true
}

// keyType is Honeycomb's name for the kind of key p is.
func keyType(p *tenant.Principal) string {
	if isIngestOnly(p) {
		return "ingest"
	}
	return "configuration"
}

// authenticateConfig is authenticate for reads that any configuration key
// may make: it refuses ingest-only keys.
func (a *API) authenticateConfig(w http.ResponseWriter, r *http.Request) *tenant.Principal {
	p := a.authenticate(w, r, "")
	if p == nil {
		return nil
	}
	if isIngestOnly(p) {
		writeError(w, http.StatusUnauthorized, "ingest keys cannot use this endpoint - use a configuration key")
		return nil
	}
	return p
}
