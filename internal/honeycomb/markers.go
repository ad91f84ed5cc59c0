package honeycomb

import (
	"encoding/json"
	"net/http"
	"regexp"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Markers (/1/markers/{dataset|__all__}[/{id}]) and marker settings
// (/1/marker_settings/{dataset}[/{id}]). Permission: manage_markers.
// Honeycomb's semantics: there is no GET of one marker; PUT replaces the
// whole marker (omitted fields are erased); DELETE answers 200 with the
// deleted marker.

func (a *API) registerMarkers(mux *http.ServeMux) {
	mux.HandleFunc("GET /1/markers/{dataset}", a.handleListMarkers)
	mux.HandleFunc("POST /1/markers/{dataset}", a.handleCreateMarker)
	mux.HandleFunc("PUT /1/markers/{dataset}/{id}", a.handleUpdateMarker)
	mux.HandleFunc("DELETE /1/markers/{dataset}/{id}", a.handleDeleteMarker)
	mux.HandleFunc("GET /1/marker_settings/{dataset}", a.handleListMarkerSettings)
	mux.HandleFunc("POST /1/marker_settings/{dataset}", a.handleCreateMarkerSetting)
	mux.HandleFunc("GET /1/marker_settings/{dataset}/{id}", a.handleGetMarkerSetting)
	mux.HandleFunc("PUT /1/marker_settings/{dataset}/{id}", a.handleUpdateMarkerSetting)
	mux.HandleFunc("DELETE /1/marker_settings/{dataset}/{id}", a.handleDeleteMarkerSetting)
}

type marker struct {
	ID        string `json:"id,omitempty"`
	StartTime int64  `json:"start_time"`
	EndTime   *int64 `json:"end_time,omitempty"`
	Message   string `json:"message,omitempty"`
	Type      string `json:"type,omitempty"`
	URL       string `json:"url,omitempty"`
	Color     string `json:"color,omitempty"`
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

func markerOf(o meta.Object) marker {
	var m marker
	_ = json.Unmarshal(o.Body, &m)
	m.ID, m.CreatedAt, m.UpdatedAt = o.ID, mgmtTime(o.CreatedAt), mgmtTime(o.UpdatedAt)
	return m
}

// readMarker decodes a marker; start_time defaults to now.
func (a *API) readMarker(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	var m marker
	if !readObject(w, r, 64<<10, &m) {
		return nil, false
	}
	if m.StartTime == 0 {
		m.StartTime = a.Now().Unix()
	}
	switch {
	case m.StartTime < 0 || (m.EndTime != nil && *m.EndTime < m.StartTime):
		writeProblem(w, http.StatusUnprocessableEntity, "end_time", "end_time must not be before start_time")
		return nil, false
	case len(m.Message) > 4096 || len(m.Type) > 255 || len(m.URL) > 2048:
		writeProblem(w, http.StatusUnprocessableEntity, "", "message, type or url too long")
		return nil, false
	case m.Color != "" && !colorRe.MatchString(m.Color):
		writeProblem(w, http.StatusUnprocessableEntity, "color", "color must be #rrggbb")
		return nil, false
	}
	m.ID, m.CreatedAt, m.UpdatedAt = "", "", ""
	raw, _ := json.Marshal(m)
	return raw, true
}

var colorRe = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (a *API) handleListMarkers(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageMarkers, true)
	if !ok {
		return
	}
	os, err := a.Alerting.DB.Objects(r.Context(), int64(p.Env.ID), meta.KindMarker, ds)
	if err != nil {
		a.internalError(w, r, "list markers", err)
		return
	}
	out := make([]marker, 0, len(os))
	for _, o := range os {
		out = append(out, markerOf(o))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) handleCreateMarker(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageMarkers, true)
	if !ok {
		return
	}
	raw, ok := a.readMarker(w, r)
	if !ok {
		return
	}
	o, err := a.Alerting.DB.CreateObject(r.Context(), meta.Object{EnvID: int64(p.Env.ID), Kind: meta.KindMarker, ID: newObjectID(), Parent: ds, Body: raw})
	if err != nil {
		a.objectError(w, r, "marker", err)
		return
	}
	writeJSON(w, http.StatusCreated, markerOf(o))
}

func (a *API) handleUpdateMarker(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageMarkers, true)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindMarker, ds, r.PathValue("id"), "marker")
	if !ok {
		return
	}
	raw, ok := a.readMarker(w, r)
	if !ok {
		return
	}
	o.Body = raw
	o, err := a.Alerting.DB.UpdateObject(r.Context(), o)
	if err != nil {
		a.objectError(w, r, "marker", err)
		return
	}
	writeJSON(w, http.StatusOK, markerOf(o))
}

func (a *API) handleDeleteMarker(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageMarkers, true)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindMarker, ds, r.PathValue("id"), "marker")
	if !ok {
		return
	}
	if err := a.Alerting.DB.DeleteObject(r.Context(), int64(p.Env.ID), o.Kind, o.ID); err != nil {
		a.objectError(w, r, "marker", err)
		return
	}
	writeJSON(w, http.StatusOK, markerOf(o))
}

type markerSetting struct {
	ID        string `json:"id,omitempty"`
	Type      string `json:"type"`
	Color     string `json:"color"`
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

func markerSettingOf(o meta.Object) markerSetting {
	var m markerSetting
	_ = json.Unmarshal(o.Body, &m)
	m.ID, m.CreatedAt, m.UpdatedAt = o.ID, mgmtTime(o.CreatedAt), mgmtTime(o.UpdatedAt)
	return m
}

func readMarkerSetting(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	var m markerSetting
	if !readObject(w, r, 16<<10, &m) {
		return nil, false
	}
	if m.Type == "" || len(m.Type) > 255 || !colorRe.MatchString(m.Color) {
		writeProblem(w, http.StatusUnprocessableEntity, "color", "type is required and color must be #rrggbb")
		return nil, false
	}
	m.ID, m.CreatedAt, m.UpdatedAt = "", "", ""
	raw, _ := json.Marshal(m)
	return raw, true
}

func (a *API) handleListMarkerSettings(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageMarkers, true)
	if !ok {
		return
	}
	os, err := a.Alerting.DB.Objects(r.Context(), int64(p.Env.ID), meta.KindMarkerSetting, ds)
	if err != nil {
		a.internalError(w, r, "list marker settings", err)
		return
	}
	out := make([]markerSetting, 0, len(os))
	for _, o := range os {
		out = append(out, markerSettingOf(o))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) handleCreateMarkerSetting(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageMarkers, true)
	if !ok {
		return
	}
	raw, ok := readMarkerSetting(w, r)
	if !ok {
		return
	}
	o, err := a.Alerting.DB.CreateObject(r.Context(), meta.Object{EnvID: int64(p.Env.ID), Kind: meta.KindMarkerSetting, ID: newObjectID(), Parent: ds, Body: raw})
	if err != nil {
		a.objectError(w, r, "marker setting", err)
		return
	}
	writeJSON(w, http.StatusCreated, markerSettingOf(o))
}

func (a *API) handleGetMarkerSetting(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageMarkers, true)
	if !ok {
		return
	}
	if o, ok := a.loadObject(w, r, p, meta.KindMarkerSetting, ds, r.PathValue("id"), "marker setting"); ok {
		writeJSON(w, http.StatusOK, markerSettingOf(o))
	}
}

func (a *API) handleUpdateMarkerSetting(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageMarkers, true)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindMarkerSetting, ds, r.PathValue("id"), "marker setting")
	if !ok {
		return
	}
	raw, ok := readMarkerSetting(w, r)
	if !ok {
		return
	}
	o.Body = raw
	o, err := a.Alerting.DB.UpdateObject(r.Context(), o)
	if err != nil {
		a.objectError(w, r, "marker setting", err)
		return
	}
	writeJSON(w, http.StatusOK, markerSettingOf(o))
}

func (a *API) handleDeleteMarkerSetting(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageMarkers, true)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindMarkerSetting, ds, r.PathValue("id"), "marker setting")
	if !ok {
		return
	}
	if err := a.Alerting.DB.DeleteObject(r.Context(), int64(p.Env.ID), o.Kind, o.ID); err != nil {
		a.objectError(w, r, "marker setting", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
