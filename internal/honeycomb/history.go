package honeycomb

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Query history (waggle's extension; Honeycomb keeps it in the UI only):
// every query run through POST /1/query_results is recorded with the key
// that ran it. GET /1/query_history lists the calling key's runs, newest
// first; ?key_id= another key's of the environment, ?all=true every run of
// the environment, ?user_id= a web UI user's; ?dataset=, ?limit= (default
// 100, max 1000) and ?before=<id> (paging).

func (a *API) registerHistory(mux *http.ServeMux) {
	mux.HandleFunc("GET /1/query_history", a.handleQueryHistory)
}

// recordQueryRun adds a run to the history; failures are logged only.
func (a *API) recordQueryRun(ctx context.Context, p *tenant.Principal, saved query.SavedQuery, resultID string) {
	if a.Alerting == nil || a.Alerting.DB == nil {
		return
	}
	_, err := a.Alerting.DB.RecordQueryRun(context.WithoutCancel(ctx), meta.QueryRun{
		EnvID: int64(p.Env.ID), KeyID: p.KeyID, Dataset: saved.Dataset, QueryID: saved.ID, ResultID: resultID, Spec: string(saved.Spec),
	})
	if err != nil {
		a.Log.Warn("record query history", "err", err)
	}
}

type historyEntry struct {
	ID        int64           `json:"id"`
	Dataset   string          `json:"dataset"`
	QueryID   string          `json:"query_id"`
	ResultID  string          `json:"query_result_id,omitempty"`
	Query     json.RawMessage `json:"query"`
	KeyID     string          `json:"key_id,omitempty"`
	UserID    int64           `json:"user_id,omitempty"`
	CreatedAt string          `json:"created_at"`
}

func (a *API) handleQueryHistory(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, "")
	if p == nil {
		return
	}
	if !p.Can(tenant.PermRunQueries) && !p.Can(tenant.PermManageQueries) {
		writeError(w, http.StatusUnauthorized, "API key is missing the permission: "+string(tenant.PermRunQueries))
		return
	}
	q := r.URL.Query()
	f := meta.QueryRunFilter{EnvID: int64(p.Env.ID), KeyID: p.KeyID, Dataset: q.Get("dataset"), Limit: intParam(r, "limit", 100, 1000)}
	if k := q.Get("key_id"); k != "" {
		f.KeyID = k
	}
	if u, err := strconv.ParseInt(q.Get("user_id"), 10, 64); err == nil && u > 0 {
		f.UserID, f.KeyID = u, ""
	}
	if q.Get("all") == "true" {
		f.KeyID, f.UserID = "", 0
	}
	if b, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && b > 0 {
		f.Before = b
	}
	runs, err := a.Alerting.DB.QueryRuns(r.Context(), f)
	if err != nil {
		a.internalError(w, r, "query history", err)
		return
	}
	out := make([]historyEntry, 0, len(runs))
	for _, run := range runs {
		e := historyEntry{ID: run.ID, Dataset: run.Dataset, QueryID: run.QueryID, ResultID: run.ResultID, KeyID: run.KeyID,
			UserID: run.UserID, CreatedAt: mgmtTime(run.CreatedAt), Query: json.RawMessage(run.Spec)}
		if !json.Valid(e.Query) {
			e.Query = json.RawMessage("null")
		}
		out = append(out, e)
	}
	writeJSON(w, http.StatusOK, out)
}
