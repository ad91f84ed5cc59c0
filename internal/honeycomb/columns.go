package honeycomb

import (
	"net/http"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// columnJSON is Honeycomb's column object. waggle's store keeps no update
// time for columns, so updated_at is the creation time.
type columnJSON struct {
	ID          string  `json:"id"`
	KeyName     string  `json:"key_name"`
	Type        string  `json:"type"`
	Description string  `json:"description"`
	Hidden      bool    `json:"hidden"`
	LastWritten *string `json:"last_written"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
}

// columnWriteJSON is the body of POST and PUT /1/columns.
type columnWriteJSON struct {
	KeyName     *string `json:"key_name"`
	Type        *string `json:"type"`
	Description *string `json:"description"`
	Hidden      *bool   `json:"hidden"`
}

// maxColumnDescription is Honeycomb's limit on a column description.
const maxColumnDescription = 255

const msgColumnNotFound = "column not found"

func columnOut(c store.Column) columnJSON {
	typ := c.Type.String()
	if c.Type == event.TypeNull {
		typ = event.TypeString.String()
	}
	return columnJSON{
		ID:          c.ID,
		KeyName:     c.Name,
		Type:        typ,
		Description: c.Description,
		Hidden:      c.Hidden,
		LastWritten: mgmtTimePtr(c.LastWritten),
		CreatedAt:   mgmtTime(c.CreatedAt),
		UpdatedAt:   mgmtTime(c.CreatedAt),
	}
}

// columnsOf resolves the {dataset} path value and lists its columns, writing
// the error response if it cannot.
func (a *API) columnsOf(w http.ResponseWriter, r *http.Request, p *tenant.Principal) (store.Dataset, []store.Column, bool) {
	d, _, ok := a.lookupDataset(w, r, p.Env.ID, r.PathValue("dataset"))
	if !ok {
		return store.Dataset{}, nil, false
	}
	cols, err := a.Store.Columns(r.Context(), p.Env.ID, d.Slug)
	if err != nil {
		a.storeError(w, err, msgDatasetNotFound)
		return store.Dataset{}, nil, false
	}
	return d, cols, true
}

// handleListColumns serves GET /1/columns/{dataset}, or with ?key_name= the
// one column of that name.
func (a *API) handleListColumns(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageQueries)
	if p == nil {
		return
	}
	_, cols, ok := a.columnsOf(w, r, p)
	if !ok {
		return
	}
	if r.URL.Query().Has("key_name") {
		name := r.URL.Query().Get("key_name")
		for _, c := range cols {
			if c.Name == name {
				writeJSON(w, http.StatusOK, columnOut(c))
				return
			}
		}
		writeError(w, http.StatusNotFound, msgColumnNotFound)
		return
	}
	out := make([]columnJSON, 0, len(cols))
	for _, c := range cols {
		out = append(out, columnOut(c))
	}
	writeJSON(w, http.StatusOK, out)
}

// findColumn picks the {id} column out of cols, writing 404 if absent.
func findColumn(w http.ResponseWriter, r *http.Request, cols []store.Column) (store.Column, bool) {
	id := r.PathValue("id")
	for _, c := range cols {
		if c.ID == id {
			return c, true
		}
	}
	writeError(w, http.StatusNotFound, msgColumnNotFound)
	return store.Column{}, false
}

// handleGetColumn serves GET /1/columns/{dataset}/{id}.
func (a *API) handleGetColumn(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageQueries)
	if p == nil {
		return
	}
	_, cols, ok := a.columnsOf(w, r, p)
	if !ok {
		return
	}
	if c, ok := findColumn(w, r, cols); ok {
		writeJSON(w, http.StatusOK, columnOut(c))
	}
}

// handleUpdateColumn serves PUT /1/columns/{dataset}/{id}: it changes the
// description and hidden flag. A column's name and type cannot change: its
// type follows the data written to it.
func (a *API) handleUpdateColumn(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageQueries)
	if p == nil {
		return
	}
	var in columnWriteJSON
	if err := mgmtDecode(w, r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if in.Description != nil && len(*in.Description) > maxColumnDescription {
		writeError(w, http.StatusUnprocessableEntity, "description must be at most 255 characters")
		return
	}
	d, cols, ok := a.columnsOf(w, r, p)
	if !ok {
		return
	}
	c, ok := findColumn(w, r, cols)
	if !ok {
		return
	}
	if in.KeyName != nil && *in.KeyName != c.Name {
		writeError(w, http.StatusUnprocessableEntity, "key_name cannot be changed")
		return
	}
	if in.Type != nil && *in.Type != columnOut(c).Type {
		writeError(w, http.StatusUnprocessableEntity, "a column's type cannot be changed: waggle derives it from the data written")
		return
	}
	up, err := a.Store.UpdateColumn(r.Context(), p.Env.ID, d.Slug, c.Name, store.ColumnUpdate{Description: in.Description, Hidden: in.Hidden})
	if err != nil {
		a.storeError(w, err, msgColumnNotFound)
		return
	}
	writeJSON(w, http.StatusOK, columnOut(up))
}

// handleCreateColumn serves POST /1/columns/{dataset}: it declares a column
// ahead of its data, with its type, description and hidden flag. 201 with
// the column when created; 409 when one of that name exists (as Honeycomb).
// Values of other types written later are kept, and widen the type as for
// any column.
func (a *API) handleCreateColumn(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageQueries)
	if p == nil {
		return
	}
	var in columnWriteJSON
	if err := mgmtDecode(w, r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if in.KeyName == nil || *in.KeyName == "" || len(*in.KeyName) > event.MaxColumnName {
		writeError(w, http.StatusUnprocessableEntity, "key_name must be 1 to 255 characters")
		return
	}
	typ := event.TypeString
	if in.Type != nil {
		t, ok := event.ParseType(strings.ToLower(*in.Type))
		if !ok {
			writeError(w, http.StatusUnprocessableEntity, "type must be one of string, integer, float, boolean")
			return
		}
		typ = t
	}
	if in.Description != nil && len(*in.Description) > maxColumnDescription {
		writeError(w, http.StatusUnprocessableEntity, "description must be at most 255 characters")
		return
	}
	d, _, ok := a.lookupDataset(w, r, p.Env.ID, r.PathValue("dataset"))
	if !ok {
		return
	}
	spec := store.ColumnSpec{Name: *in.KeyName, Type: typ}
	if in.Description != nil {
		spec.Description = *in.Description
	}
	if in.Hidden != nil {
		spec.Hidden = *in.Hidden
	}
	c, created, err := a.Store.CreateColumn(r.Context(), p.Env.ID, d.Slug, spec)
	if err != nil {
		a.storeError(w, err, msgDatasetNotFound)
		return
	}
	if !created {
		writeError(w, http.StatusConflict, "column already exists")
		return
	}
	writeJSON(w, http.StatusCreated, columnOut(c))
}

// handleDeleteColumn serves DELETE /1/columns/{dataset}/{id}: it deletes the
// column and its data (204), as Honeycomb does.
func (a *API) handleDeleteColumn(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageQueries)
	if p == nil {
		return
	}
	d, cols, ok := a.columnsOf(w, r, p)
	if !ok {
		return
	}
	c, ok := findColumn(w, r, cols)
	if !ok {
		return
	}
	if err := a.Store.DeleteColumn(r.Context(), p.Env.ID, d.Slug, c.Name); err != nil {
		a.storeError(w, err, msgColumnNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
