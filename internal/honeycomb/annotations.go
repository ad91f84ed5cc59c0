package honeycomb

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Query annotations (/1/query_annotations/{dataset}[/{id}]): a name and
// description for a saved query (POST /1/queries), i.e. a saved query as the
// UI lists it. Permission: manage_queries.

func (a *API) registerAnnotations(mux *http.ServeMux) {
	mux.HandleFunc("GET /1/query_annotations/{dataset}", a.handleListAnnotations)
	mux.HandleFunc("POST /1/query_annotations/{dataset}", a.handleCreateAnnotation)
	mux.HandleFunc("GET /1/query_annotations/{dataset}/{id}", a.handleGetAnnotation)
	mux.HandleFunc("PUT /1/query_annotations/{dataset}/{id}", a.handleUpdateAnnotation)
	mux.HandleFunc("DELETE /1/query_annotations/{dataset}/{id}", a.handleDeleteAnnotation)
}

// annotation is Honeycomb's query annotation (note the hyphenated times).
type annotation struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	QueryID     string `json:"query_id"`
	Source      string `json:"source"`
	CreatedAt   string `json:"created-at,omitempty"`
	UpdatedAt   string `json:"updated-at,omitempty"`
}

func annotationOf(o meta.Object) annotation {
	var an annotation
	_ = json.Unmarshal(o.Body, &an)
	an.ID, an.CreatedAt, an.UpdatedAt = o.ID, mgmtTime(o.CreatedAt), mgmtTime(o.UpdatedAt)
	return an
}

func (a *API) handleListAnnotations(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageQueries, true)
	if !ok {
		return
	}
	os, err := a.Alerting.DB.Objects(r.Context(), int64(p.Env.ID), meta.KindQueryAnnotation, ds)
	if err != nil {
		a.internalError(w, r, "list query annotations", err)
		return
	}
	out := make([]annotation, 0, len(os))
	for _, o := range os {
		out = append(out, annotationOf(o))
	}
	writeJSON(w, http.StatusOK, out)
}

// readAnnotation decodes and validates an annotation for dataset ds: a name
// and a query saved for the dataset.
func (a *API) readAnnotation(w http.ResponseWriter, r *http.Request, p *tenant.Principal, ds string) ([]byte, bool) {
	var in annotation
	if !readObject(w, r, 64<<10, &in) {
		return nil, false
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "" || len(in.Name) > 320:
		writeProblem(w, http.StatusUnprocessableEntity, "name", "name is required and must be at most 320 characters")
		return nil, false
	case len(in.Description) > 1023:
		writeProblem(w, http.StatusUnprocessableEntity, "description", "description must be at most 1023 characters")
		return nil, false
	case in.QueryID == "":
		writeProblem(w, http.StatusUnprocessableEntity, "query_id", "query_id is required")
		return nil, false
	}
	if in.Source == "" {
		in.Source = "query"
	}
	if in.Source != "query" && in.Source != "board" {
		writeProblem(w, http.StatusUnprocessableEntity, "source", "source must be query or board")
		return nil, false
	}
	if _, err := a.Engine.Saved(r.Context(), p.Env.ID, ds, in.QueryID); err != nil {
		if errors.Is(err, query.ErrQueryNotFound) {
			writeProblem(w, http.StatusUnprocessableEntity, "query_id", "query_id "+truncateMsg(in.QueryID)+" not found in this dataset")
		} else {
			a.internalError(w, r, "load query", err)
		}
		return nil, false
	}
	in.ID, in.CreatedAt, in.UpdatedAt = "", "", ""
	raw, _ := json.Marshal(in)
	return raw, true
}

func (a *API) handleCreateAnnotation(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageQueries, true)
	if !ok {
		return
	}
	raw, ok := a.readAnnotation(w, r, p, ds)
	if !ok {
		return
	}
	o, err := a.Alerting.DB.CreateObject(r.Context(), meta.Object{EnvID: int64(p.Env.ID), Kind: meta.KindQueryAnnotation, ID: newObjectID(), Parent: ds, Body: raw})
	if err != nil {
		a.objectError(w, r, "query annotation", err)
		return
	}
	writeJSON(w, http.StatusCreated, annotationOf(o))
}

// loadObject loads an object of kind under parent ("" for any), answering
// 404 itself.
func (a *API) loadObject(w http.ResponseWriter, r *http.Request, p *tenant.Principal, kind, parent, id, what string) (meta.Object, bool) {
	o, err := a.Alerting.DB.Object(r.Context(), int64(p.Env.ID), kind, id)
	if err == nil && parent != "" && o.Parent != parent {
		err = meta.ErrNotFound
	}
	if err != nil {
		a.objectError(w, r, what, err)
		return meta.Object{}, false
	}
	return o, true
}

func (a *API) handleGetAnnotation(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageQueries, true)
	if !ok {
		return
	}
	if o, ok := a.loadObject(w, r, p, meta.KindQueryAnnotation, ds, r.PathValue("id"), "query annotation"); ok {
		writeJSON(w, http.StatusOK, annotationOf(o))
	}
}

func (a *API) handleUpdateAnnotation(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageQueries, true)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindQueryAnnotation, ds, r.PathValue("id"), "query annotation")
	if !ok {
		return
	}
	raw, ok := a.readAnnotation(w, r, p, ds)
	if !ok {
		return
	}
	o.Body = raw
	o, err := a.Alerting.DB.UpdateObject(r.Context(), o)
	if err != nil {
		a.objectError(w, r, "query annotation", err)
		return
	}
	writeJSON(w, http.StatusOK, annotationOf(o))
}

func (a *API) handleDeleteAnnotation(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageQueries, true)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindQueryAnnotation, ds, r.PathValue("id"), "query annotation")
	if !ok {
		return
	}
	if err := a.Alerting.DB.DeleteObject(r.Context(), int64(p.Env.ID), o.Kind, o.ID); err != nil {
		a.objectError(w, r, "query annotation", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
