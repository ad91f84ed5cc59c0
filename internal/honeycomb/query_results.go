package honeycomb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// queryTimeout bounds one query run.
const queryTimeout = 60 * time.Second

// queryResultRequest is the body of POST /1/query_results/{dataset}.
type queryResultRequest struct {
	QueryID                 string `json:"query_id"`
	DisableSeries           bool   `json:"disable_series"`
	DisableTotalByAggregate bool   `json:"disable_total_by_aggregate"`
	DisableOtherByAggregate bool   `json:"disable_other_by_aggregate"`
	Limit                   int    `json:"limit"`
}

// queryResultResponse is Honeycomb's query result object.
type queryResultResponse struct {
	Query    queryObject       `json:"query"`
	ID       string            `json:"id"`
	Complete bool              `json:"complete"`
	Data     json.RawMessage   `json:"data,omitempty"`
	Links    map[string]string `json:"links"`
}

// createResult handles POST /1/query_results/{dataset}: it runs a saved
// query to completion and keeps the results for GET.
func (h *queryAPI) createResult(w http.ResponseWriter, r *http.Request) {
	p := h.api.authenticate(w, r, tenant.PermRunQueries)
	if p == nil || !h.ready(w) {
		return
	}
	dataset := r.PathValue("dataset")
	var req queryResultRequest
	if !decodeQueryJSON(w, r, &req) {
		return
	}
	if req.QueryID == "" {
		writeError(w, http.StatusBadRequest, "query_id is required")
		return
	}
	saved, ok := h.savedQuery(w, r, p.Env.ID, dataset, req.QueryID)
	if !ok {
		return
	}
	obj, err := queryObjectOf(saved)
	if err != nil {
		h.queryError(w, r, "run query", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), queryTimeout)
	defer cancel()
	out, err := h.api.Engine.Run(ctx, p.Env.ID, []string{dataset}, obj.Spec, query.Options{
		DisableSeries:           req.DisableSeries,
		DisableTotalByAggregate: req.DisableTotalByAggregate,
		DisableOtherByAggregate: req.DisableOtherByAggregate,
		Limit:                   req.Limit,
		Now:                     h.api.Now(),
	})
	if err != nil {
		h.queryError(w, r, "run query", err)
		return
	}
	data, err := json.Marshal(out)
	if err != nil {
		h.queryError(w, r, "run query", fmt.Errorf("encode results: %w", err))
		return
	}
	id, err := newResultID()
	if err != nil {
		h.queryError(w, r, "run query", err)
		return
	}
	res := &storedResult{
		env:     p.Env.ID,
		dataset: saved.Dataset,
		id:      id,
		query:   obj,
		data:    data,
		created: h.api.Now().UTC(),
	}
	h.results.put(res)
	h.api.recordQueryRun(r.Context(), p, saved, id) // query history (history.go)
	loc := baseURL(r) + resultPath(dataset, id)
	w.Header().Set("Location", loc)
	writeJSON(w, http.StatusCreated, queryResultResponse{
		Query: obj, ID: id, Complete: true,
		Links: map[string]string{"query_url": loc},
	})
}

// getResult handles GET /1/query_results/{dataset}/{id}.
func (h *queryAPI) getResult(w http.ResponseWriter, r *http.Request) {
	p := h.api.authenticate(w, r, tenant.PermRunQueries)
	if p == nil || !h.ready(w) {
		return
	}
	dataset, id := r.PathValue("dataset"), r.PathValue("id")
	key := dataset
	if key != event.AllDatasets {
		var err error
		if key, err = event.Slug(dataset); err != nil {
			writeError(w, http.StatusNotFound, "dataset not found")
			return
		}
	}
	res := h.results.get(p.Env.ID, key, id, h.api.Now())
	if res == nil {
		if err := h.api.Engine.CheckDatasets(r.Context(), p.Env.ID, []string{dataset}); err != nil {
			h.queryError(w, r, "get query result", err)
			return
		}
		writeError(w, http.StatusNotFound, "query result not found")
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=86400")
	w.Header().Set("Last-Modified", res.created.Format(http.TimeFormat))
	writeJSON(w, http.StatusOK, queryResultResponse{
		Query: res.query, ID: res.id, Complete: true, Data: res.data,
		Links: map[string]string{"query_url": baseURL(r) + resultPath(dataset, id)},
	})
}

// newResultID returns a random result ID.
func newResultID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("result id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// resultPath is the API path of a query result.
func resultPath(dataset, id string) string {
	return "/1/query_results/" + url.PathEscape(dataset) + "/" + url.PathEscape(id)
}

// baseURL is the scheme and host the client reached the server at.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host
}
