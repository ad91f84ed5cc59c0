package honeycomb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
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
	key, err := h.resultKey(r.Context())
	if err != nil {
		h.queryError(w, r, "run query", err)
		return
	}
	run := resultRun{QueryID: saved.ID, Opts: query.Options{
		DisableSeries:           req.DisableSeries,
		DisableTotalByAggregate: req.DisableTotalByAggregate,
		DisableOtherByAggregate: req.DisableOtherByAggregate,
		Limit:                   req.Limit,
		Now:                     h.api.Now().UTC(),
	}}
	res, err := h.runResult(r.Context(), p.Env.ID, dataset, saved, obj, run)
	if err != nil {
		h.queryError(w, r, "run query", err)
		return
	}
	res.id = encodeResultID(key, p.Env.ID, saved.Dataset, run)
	id := res.id
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
		// Not run on this node (or forgotten): an id this deployment issued
		// describes its run; compute it again.
		var ok bool
		if res, ok = h.rerunResult(w, r, p.Env.ID, dataset, key, id); res == nil && !ok {
			return
		}
	}
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

// runResult runs saved (dataset as the request named it) as run says and
// returns the result, without its id.
func (h *queryAPI) runResult(ctx context.Context, env event.EnvID, dataset string, saved query.SavedQuery, obj queryObject, run resultRun) (*storedResult, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	out, err := h.api.Engine.Run(ctx, env, []string{dataset}, obj.Spec, run.Opts)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode results: %w", err)
	}
	return &storedResult{
		env:     env,
		dataset: saved.Dataset,
		query:   obj,
		data:    data,
		created: run.Opts.Now,
	}, nil
}

// rerunResult computes the result an id names when this node does not have
// it: the id must carry this deployment's MAC for env's dataset (key: slug
// or __all__), be younger than the results' TTL and name a saved query that
// exists. It returns the result (kept in the cache too), or nil and true when
// the id names none (the caller answers 404), or nil and false when it
// answered an error itself.
func (h *queryAPI) rerunResult(w http.ResponseWriter, r *http.Request, env event.EnvID, dataset, key, id string) (*storedResult, bool) {
	mac, err := h.resultKey(r.Context())
	if err != nil {
		h.queryError(w, r, "get query result", err)
		return nil, false
	}
	run, ok := decodeResultID(mac, env, key, id)
	if !ok {
		return nil, true
	}
	if age := h.api.Now().Sub(run.Opts.Now); age > h.results.ttl {
		return nil, true
	}
	saved, err := h.api.Engine.Saved(r.Context(), env, dataset, run.QueryID)
	if errors.Is(err, query.ErrQueryNotFound) {
		return nil, true
	}
	if err != nil {
		h.queryError(w, r, "get query result", err)
		return nil, false
	}
	obj, err := queryObjectOf(saved)
	if err != nil {
		h.queryError(w, r, "get query result", err)
		return nil, false
	}
	res, err := h.runResult(r.Context(), env, dataset, saved, obj, run)
	if err != nil {
		h.queryError(w, r, "get query result", err)
		return nil, false
	}
	res.id = id
	h.results.put(res)
	return res, true
}

// resultKey is the HMAC key of result ids (query_ids.go).
func (h *queryAPI) resultKey(ctx context.Context) ([]byte, error) {
	var db *meta.DB
	if h.api.Alerting != nil {
		db = h.api.Alerting.DB
	}
	return h.results.keys.get(ctx, db)
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
