package honeycomb

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// registerQueries adds the query API: /1/queries and /1/query_results.
//
//	POST /1/queries/{dataset}             create an immutable query (manage_queries)
//	GET  /1/queries/{dataset}/{id}        read it back (manage_queries or run_queries)
//	POST /1/query_results/{dataset}       run a query (run_queries)
//	GET  /1/query_results/{dataset}/{id}  read a run's results (run_queries)
//
// {dataset} may be "__all__" for environment-wide queries. Queries run
// synchronously: the POST answers once the results are complete.
func (a *API) registerQueries(mux *http.ServeMux) {
	if a.Engine == nil && a.Store != nil {
		a.Engine = query.NewEngine(a.Store, NewQueryCatalog(a.Store), query.WithLogger(a.Log))
	}
	h := &queryAPI{api: a, results: newResultCache(defaultResultBytes, defaultResultTTL)}
	mux.HandleFunc("POST /1/queries/{dataset}", h.createQuery)
	mux.HandleFunc("GET /1/queries/{dataset}/{id}", h.getQuery)
	mux.HandleFunc("POST /1/query_results/{dataset}", h.createResult)
	mux.HandleFunc("GET /1/query_results/{dataset}/{id}", h.getResult)
}

// queryAPI serves the query endpoints.
type queryAPI struct {
	api     *API
	results *resultCache
}

// queryObject is Honeycomb's query object: the spec plus its id.
type queryObject struct {
	*query.Spec
	ID string `json:"id"`
}

// createQuery handles POST /1/queries/{dataset}: it validates the spec
// against the dataset's columns and stores it under an ID derived from its
// canonical form, so the same spec always gets the same ID.
func (h *queryAPI) createQuery(w http.ResponseWriter, r *http.Request) {
	p := h.api.authenticate(w, r, tenant.PermManageQueries)
	if p == nil || !h.ready(w) {
		return
	}
	dataset := r.PathValue("dataset")
	body, ok := readQueryBody(w, r, query.MaxSpecBytes)
	if !ok {
		return
	}
	spec, err := query.ParseSpec(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	saved, err := h.api.Engine.Save(r.Context(), p.Env.ID, dataset, spec)
	if err != nil {
		h.queryError(w, r, "create query", err)
		return
	}
	obj, err := queryObjectOf(saved)
	if err != nil {
		h.queryError(w, r, "create query", err)
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// getQuery handles GET /1/queries/{dataset}/{id}.
func (h *queryAPI) getQuery(w http.ResponseWriter, r *http.Request) {
	p := h.api.authenticate(w, r, "")
	if p == nil || !h.ready(w) {
		return
	}
	if !p.Can(tenant.PermManageQueries) && !p.Can(tenant.PermRunQueries) {
		writeError(w, http.StatusUnauthorized, "API key is missing the permission: "+string(tenant.PermManageQueries))
		return
	}
	saved, ok := h.savedQuery(w, r, p.Env.ID, r.PathValue("dataset"), r.PathValue("id"))
	if !ok {
		return
	}
	obj, err := queryObjectOf(saved)
	if err != nil {
		h.queryError(w, r, "get query", err)
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// queryObjectOf renders a saved query as Honeycomb's query object.
func queryObjectOf(q query.SavedQuery) (queryObject, error) {
	spec, err := q.Parse()
	if err != nil {
		return queryObject{}, err
	}
	return queryObject{Spec: spec, ID: q.ID}, nil
}

// ready answers 503 when no query engine is configured.
func (h *queryAPI) ready(w http.ResponseWriter) bool {
	if h.api.Engine == nil {
		writeError(w, http.StatusServiceUnavailable, "query engine is not configured")
		return false
	}
	return true
}

// readQueryBody reads a JSON body of at most max bytes, answering 413 when
// it is larger.
func readQueryBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "Request body is too large.")
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "Request body is malformed and cannot be read.")
		return nil, false
	}
	return body, true
}

// queryError answers an engine error: 400 with the spec problem, 404 for an
// unknown dataset or query, 504 on timeout, 500 otherwise.
func (h *queryAPI) queryError(w http.ResponseWriter, r *http.Request, what string, err error) {
	var specErr *query.Error
	switch {
	case errors.As(err, &specErr):
		writeError(w, http.StatusBadRequest, specErr.Error())
	case errors.Is(err, query.ErrUnknownDataset):
		writeError(w, http.StatusNotFound, "dataset not found")
	case errors.Is(err, query.ErrQueryNotFound):
		writeError(w, http.StatusNotFound, "query not found")
	case r.Context().Err() != nil:
		// The client is gone; nobody reads this.
		writeError(w, http.StatusServiceUnavailable, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "query took longer than "+queryTimeout.String())
	default:
		h.api.Log.ErrorContext(r.Context(), what, "err", err, "path", r.URL.Path)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// savedQuery loads a saved query, answering 404 (dataset or query not found)
// when there is none.
func (h *queryAPI) savedQuery(w http.ResponseWriter, r *http.Request, env event.EnvID, dataset, id string) (query.SavedQuery, bool) {
	saved, err := h.api.Engine.Saved(r.Context(), env, dataset, id)
	if err == nil {
		return saved, true
	}
	if errors.Is(err, query.ErrQueryNotFound) {
		// Tell an unknown dataset from an unknown query.
		if derr := h.api.Engine.CheckDatasets(r.Context(), env, []string{dataset}); derr != nil {
			err = derr
		}
	}
	h.queryError(w, r, "load query", err)
	return query.SavedQuery{}, false
}

// decodeQueryJSON decodes a small JSON request body into v, answering 400 on error.
func decodeQueryJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readQueryBody(w, r, 64<<10)
	if !ok {
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "Request body is malformed and cannot be read.")
		return false
	}
	return true
}
