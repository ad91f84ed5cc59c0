package honeycomb

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Derived columns (Honeycomb's calculated fields), permission
// manage_queries ("Manage Queries and Columns"):
//
//	GET|POST /1/derived_columns/{dataset|__all__}   (?alias= returns one)
//	GET|PUT|DELETE /1/derived_columns/{dataset|__all__}/{id}
//
// The expression is parsed and type-checked against the dataset's columns
// (every dataset's for __all__); errors are 400 with the position. A
// duplicate alias is 409; a derived column an SLO or a trigger uses cannot
// be deleted (409). Queries name a derived column by its alias (see
// query.WithDerivedColumns and DerivedSource).

func (a *API) registerDerived(mux *http.ServeMux) {
	if a.Alerting == nil || a.Alerting.DB == nil {
		return
	}
	mux.HandleFunc("GET /1/derived_columns/{dataset}", a.handleListDerived)
	mux.HandleFunc("POST /1/derived_columns/{dataset}", a.handleCreateDerived)
	mux.HandleFunc("GET /1/derived_columns/{dataset}/{id}", a.handleGetDerived)
	mux.HandleFunc("PUT /1/derived_columns/{dataset}/{id}", a.handleUpdateDerived)
	mux.HandleFunc("DELETE /1/derived_columns/{dataset}/{id}", a.handleDeleteDerived)
}

type derivedColumn struct {
	ID          string `json:"id,omitempty"`
	Alias       string `json:"alias"`
	Expression  string `json:"expression"`
	Description string `json:"description"`
	CreatedAt   string `json:"created_at,omitempty"`
	UpdatedAt   string `json:"updated_at,omitempty"`
}

func derivedOf(d meta.DerivedColumn) derivedColumn {
	return derivedColumn{ID: d.ID, Alias: d.Alias, Expression: d.Expression, Description: d.Description,
		CreatedAt: mgmtTime(d.CreatedAt), UpdatedAt: mgmtTime(d.UpdatedAt)}
}

// DerivedSource returns the query engine's source of derived columns kept
// in db.
func DerivedSource(db *meta.DB) query.DerivedSource { return metaDerived{db} }

type metaDerived struct{ db *meta.DB }

func (m metaDerived) DerivedColumns(ctx context.Context, env event.EnvID, datasets []string) ([]query.DerivedDefinition, error) {
	keys := append([]string{event.AllDatasets}, datasets...)
	ds, err := m.db.DerivedColumns(ctx, int64(env), keys...)
	if err != nil {
		return nil, err
	}
	out := make([]query.DerivedDefinition, 0, len(ds))
	// A dataset's own definition wins over an environment-wide one.
	seen := map[string]int{}
	for _, d := range ds {
		if i, ok := seen[d.Alias]; ok {
			if d.Dataset != event.AllDatasets {
				out[i] = query.DerivedDefinition{Alias: d.Alias, Expression: d.Expression}
			}
			continue
		}
		seen[d.Alias] = len(out)
		out = append(out, query.DerivedDefinition{Alias: d.Alias, Expression: d.Expression})
	}
	return out, nil
}

// datasetColumns returns the stored columns of ds (every dataset's for
// __all__), as the query engine sees them.
func (a *API) datasetColumns(ctx context.Context, env event.EnvID, ds string) (map[string]query.ColumnInfo, error) {
	var names []string
	if ds != event.AllDatasets {
		names = []string{ds}
	}
	return NewQueryCatalog(a.Store).Columns(ctx, env, names)
}

func (a *API) handleListDerived(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageQueries, true)
	if !ok {
		return
	}
	list, err := a.Alerting.DB.DerivedColumns(r.Context(), int64(p.Env.ID), ds)
	if err != nil {
		a.internalError(w, r, "list derived columns", err)
		return
	}
	if alias := r.URL.Query().Get("alias"); r.URL.Query().Has("alias") {
		for _, d := range list {
			if d.Alias == alias {
				writeJSON(w, http.StatusOK, derivedOf(d))
				return
			}
		}
		writeError(w, http.StatusNotFound, "derived column not found")
		return
	}
	out := make([]derivedColumn, 0, len(list))
	for _, d := range list {
		out = append(out, derivedOf(d))
	}
	writeJSON(w, http.StatusOK, out)
}

// readDerived decodes and validates a derived column for dataset ds.
func (a *API) readDerived(w http.ResponseWriter, r *http.Request, p *tenant.Principal, ds string) (derivedColumn, bool) {
	var in derivedColumn
	if !readObject(w, r, 64<<10, &in) {
		return in, false
	}
	switch {
	case in.Alias == "" || len(in.Alias) > 255:
		writeProblem(w, http.StatusUnprocessableEntity, "alias", "alias is required and must be at most 255 characters")
		return in, false
	case len(in.Description) > 1023:
		writeProblem(w, http.StatusUnprocessableEntity, "description", "description must be at most 1023 characters")
		return in, false
	case strings.TrimSpace(in.Expression) == "":
		writeError(w, http.StatusBadRequest, "expression is required")
		return in, false
	}
	cols, err := a.datasetColumns(r.Context(), p.Env.ID, ds)
	if err != nil {
		a.internalError(w, r, "load columns", err)
		return in, false
	}
	if _, err := query.ResolveDerived(in.Alias, in.Expression, cols, true); err != nil {
		writeError(w, http.StatusBadRequest, "invalid expression: "+truncateMsg(err.Error()))
		return in, false
	}
	return in, true
}

func (a *API) handleCreateDerived(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageQueries, true)
	if !ok {
		return
	}
	in, ok := a.readDerived(w, r, p, ds)
	if !ok {
		return
	}
	d, err := a.Alerting.DB.CreateDerivedColumn(r.Context(), meta.DerivedColumn{EnvID: int64(p.Env.ID), ID: newObjectID(),
		Dataset: ds, Alias: in.Alias, Expression: in.Expression, Description: in.Description})
	if err != nil {
		a.derivedError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, derivedOf(d))
}

func (a *API) derivedError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, meta.ErrConflict) {
		writeError(w, http.StatusConflict, "a derived column with this alias already exists")
		return
	}
	a.objectError(w, r, "derived column", err)
}

// loadDerived loads a derived column of dataset ds, answering 404 itself.
func (a *API) loadDerived(w http.ResponseWriter, r *http.Request, p *tenant.Principal, ds string) (meta.DerivedColumn, bool) {
	d, err := a.Alerting.DB.DerivedColumn(r.Context(), int64(p.Env.ID), r.PathValue("id"))
	if err == nil && d.Dataset != ds {
		err = meta.ErrNotFound
	}
	if err != nil {
		a.objectError(w, r, "derived column", err)
		return d, false
	}
	return d, true
}

func (a *API) handleGetDerived(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageQueries, true)
	if !ok {
		return
	}
	if d, ok := a.loadDerived(w, r, p, ds); ok {
		writeJSON(w, http.StatusOK, derivedOf(d))
	}
}

func (a *API) handleUpdateDerived(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageQueries, true)
	if !ok {
		return
	}
	d, ok := a.loadDerived(w, r, p, ds)
	if !ok {
		return
	}
	in, ok := a.readDerived(w, r, p, ds)
	if !ok {
		return
	}
	if in.Alias != d.Alias {
		if used, ok := a.derivedInUse(w, r, p, d); !ok || used {
			return
		}
	}
	d.Alias, d.Expression, d.Description = in.Alias, in.Expression, in.Description
	d, err := a.Alerting.DB.UpdateDerivedColumn(r.Context(), d)
	if err != nil {
		a.derivedError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, derivedOf(d))
}

func (a *API) handleDeleteDerived(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageQueries, true)
	if !ok {
		return
	}
	d, ok := a.loadDerived(w, r, p, ds)
	if !ok {
		return
	}
	if used, ok := a.derivedInUse(w, r, p, d); !ok || used {
		return
	}
	if err := a.Alerting.DB.DeleteDerivedColumn(r.Context(), int64(p.Env.ID), d.ID); err != nil {
		a.objectError(w, r, "derived column", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// derivedInUse answers 409 when an SLO's SLI is d, or a trigger's query
// names d's alias (a conservative test: the alias appears as a JSON string
// in the trigger), and reports whether it did; ok is false after an error.
func (a *API) derivedInUse(w http.ResponseWriter, r *http.Request, p *tenant.Principal, d meta.DerivedColumn) (used, ok bool) {
	ctx := r.Context()
	env := int64(p.Env.ID)
	slos, err := a.Alerting.DB.Objects(ctx, env, meta.KindSLO, "")
	if err != nil {
		a.internalError(w, r, "list SLOs", err)
		return false, false
	}
	for _, o := range slos {
		s := sloOf(o)
		if s.SLI.Alias == d.Alias && (d.Dataset == event.AllDatasets || o.Parent == d.Dataset || o.Parent == event.AllDatasets) {
			writeError(w, http.StatusConflict, "derived column "+truncateMsg(d.Alias)+" is the SLI of SLO "+s.ID+"; delete or change the SLO first")
			return true, true
		}
	}
	trigs, err := a.Alerting.DB.Objects(ctx, env, meta.KindTrigger, "")
	if err != nil {
		a.internalError(w, r, "list triggers", err)
		return false, false
	}
	quoted := strconv.Quote(d.Alias)
	for _, o := range trigs {
		if (d.Dataset == event.AllDatasets || o.Parent == d.Dataset || o.Parent == event.AllDatasets) && strings.Contains(string(o.Body), quoted) {
			writeError(w, http.StatusConflict, "derived column "+truncateMsg(d.Alias)+" is used by trigger "+o.ID+"; change the trigger first")
			return true, true
		}
	}
	return false, true
}
