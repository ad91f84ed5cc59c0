package honeycomb

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// datasetJSON is Honeycomb's dataset object.
//
// retention_days is a waggle extension: how many days of events the dataset
// keeps (store.DefaultRetention unless set). PUT /1/datasets/{slug} sets it.
type datasetJSON struct {
	Name                string              `json:"name"`
	Description         string              `json:"description"`
	Slug                string              `json:"slug"`
	ExpandJSONDepth     int                 `json:"expand_json_depth"`
	CreatedAt           string              `json:"created_at"`
	LastWrittenAt       *string             `json:"last_written_at"`
	RegularColumnsCount int                 `json:"regular_columns_count"`
	Settings            datasetSettingsJSON `json:"settings"`
	RetentionDays       int                 `json:"retention_days"`
}

type datasetSettingsJSON struct {
	DeleteProtected bool `json:"delete_protected"`
}

// datasetWriteJSON is the body of POST /1/datasets and PUT /1/datasets/{slug}.
// Pointers tell an absent field from a zero one.
type datasetWriteJSON struct {
	Name            string  `json:"name"`
	Description     *string `json:"description"`
	ExpandJSONDepth *int    `json:"expand_json_depth"`
	Settings        *struct {
		DeleteProtected *bool `json:"delete_protected"`
	} `json:"settings"`
	RetentionDays *int `json:"retention_days"`
}

// Limits on dataset fields.
const (
	maxDatasetDescription = 1024
	// maxRetentionDays bounds retention_days at about ten years.
	maxRetentionDays = 3650
)

const day = 24 * time.Hour

const msgDatasetNotFound = "dataset not found"

// datasetOut renders a dataset with its settings.
func datasetOut(d store.Dataset, s tenant.DatasetSettings) datasetJSON {
	ret := d.Retention
	if ret <= 0 {
		ret = store.DefaultRetention
	}
	return datasetJSON{
		Name:                d.Name,
		Description:         d.Description,
		Slug:                d.Slug,
		ExpandJSONDepth:     s.ExpandJSONDepth,
		CreatedAt:           mgmtTime(d.CreatedAt),
		LastWrittenAt:       mgmtTimePtr(d.LastWrittenAt),
		RegularColumnsCount: d.Columns,
		Settings:            datasetSettingsJSON{DeleteProtected: s.DeleteProtected},
		RetentionDays:       int((ret + day - 1) / day),
	}
}

// settings returns a dataset's settings, the zero settings when the API has
// no tenant administration.
func (a *API) settings(r *http.Request, env event.EnvID, slug string) (tenant.DatasetSettings, error) {
	adm := a.admin()
	if adm == nil {
		return tenant.DatasetSettings{}, nil
	}
	return adm.DatasetSettings(r.Context(), env, slug)
}

// storeError writes the response for a store error on a dataset or column.
func (a *API) storeError(w http.ResponseWriter, err error, notFoundMsg string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, notFoundMsg)
	case errors.Is(err, event.ErrBadDatasetName):
		writeError(w, http.StatusUnprocessableEntity, "invalid dataset name")
	case errors.Is(err, store.ErrTooManyColumns):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	default:
		a.Log.Error("management: store", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// handleListDatasets serves GET /1/datasets.
func (a *API) handleListDatasets(w http.ResponseWriter, r *http.Request) {
	p := a.authenticateConfig(w, r)
	if p == nil {
		return
	}
	list, err := a.Store.Datasets(r.Context(), p.Env.ID)
	if err != nil {
		a.storeError(w, err, msgDatasetNotFound)
		return
	}
	out := make([]datasetJSON, 0, len(list))
	for _, d := range list {
		s, err := a.settings(r, p.Env.ID, d.Slug)
		if err != nil {
			a.storeError(w, err, msgDatasetNotFound)
			return
		}
		out = append(out, datasetOut(d, s))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleGetDataset serves GET /1/datasets/{slug}.
func (a *API) handleGetDataset(w http.ResponseWriter, r *http.Request) {
	p := a.authenticateConfig(w, r)
	if p == nil {
		return
	}
	d, s, ok := a.lookupDataset(w, r, p.Env.ID, r.PathValue("slug"))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, datasetOut(d, s))
}

// lookupDataset finds a dataset of env with its settings, writing the error
// response if it cannot.
func (a *API) lookupDataset(w http.ResponseWriter, r *http.Request, env event.EnvID, name string) (store.Dataset, tenant.DatasetSettings, bool) {
	if strings.TrimSpace(name) == "" || len(name) > event.MaxDatasetName {
		writeError(w, http.StatusNotFound, msgDatasetNotFound)
		return store.Dataset{}, tenant.DatasetSettings{}, false
	}
	d, err := a.Store.Dataset(r.Context(), env, name)
	if err != nil {
		a.storeError(w, err, msgDatasetNotFound)
		return store.Dataset{}, tenant.DatasetSettings{}, false
	}
	s, err := a.settings(r, env, d.Slug)
	if err != nil {
		a.storeError(w, err, msgDatasetNotFound)
		return store.Dataset{}, tenant.DatasetSettings{}, false
	}
	return d, s, true
}

// validateDatasetWrite checks the fields common to POST and PUT.
func validateDatasetWrite(in *datasetWriteJSON) string {
	if in.Description != nil && len(*in.Description) > maxDatasetDescription {
		return "description must be at most 1024 characters"
	}
	if in.ExpandJSONDepth != nil && (*in.ExpandJSONDepth < 0 || *in.ExpandJSONDepth > tenant.MaxExpandJSONDepth) {
		return "expand_json_depth must be between 0 and 10"
	}
	if in.RetentionDays != nil && (*in.RetentionDays < 1 || *in.RetentionDays > maxRetentionDays) {
		return "retention_days must be between 1 and 3650"
	}
	return ""
}

// handleCreateDataset serves POST /1/datasets: 201 with the new dataset, or
// 200 with the existing one, unchanged, if the name's slug exists.
func (a *API) handleCreateDataset(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermCreateDatasets)
	if p == nil {
		return
	}
	var in datasetWriteJSON
	if err := mgmtDecode(w, r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		writeError(w, http.StatusUnprocessableEntity, "name is required")
		return
	}
	if _, err := event.Slug(in.Name); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "invalid dataset name")
		return
	}
	if msg := validateDatasetWrite(&in); msg != "" {
		writeError(w, http.StatusUnprocessableEntity, msg)
		return
	}
	info := store.DatasetInfo{Name: in.Name}
	if in.Description != nil {
		info.Description = *in.Description
	}
	if in.RetentionDays != nil {
		info.Retention = time.Duration(*in.RetentionDays) * day
	}
	wantSettings := in.ExpandJSONDepth != nil || (in.Settings != nil && in.Settings.DeleteProtected != nil)
	if wantSettings && a.admin() == nil {
		writeError(w, http.StatusNotImplemented, "dataset settings are not available on this server")
		return
	}
	d, created, err := a.Store.CreateDataset(r.Context(), p.Env.ID, info)
	if err != nil {
		a.storeError(w, err, msgDatasetNotFound)
		return
	}
	var s tenant.DatasetSettings
	if created && wantSettings {
		if in.ExpandJSONDepth != nil {
			s.ExpandJSONDepth = *in.ExpandJSONDepth
		}
		if in.Settings != nil && in.Settings.DeleteProtected != nil {
			s.DeleteProtected = *in.Settings.DeleteProtected
		}
		if err := a.setDatasetSettings(r.Context(), p.Env.ID, d.Slug, s); err != nil {
			a.storeError(w, err, msgDatasetNotFound)
			return
		}
	} else if s, err = a.settings(r, p.Env.ID, d.Slug); err != nil {
		a.storeError(w, err, msgDatasetNotFound)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, datasetOut(d, s))
}

// handleUpdateDataset serves PUT /1/datasets/{slug}. As in Honeycomb, PUT
// replaces description and expand_json_depth (absent means empty and 0). Two
// fields are only changed when present, since clearing them by omission would
// be dangerous: settings.delete_protected and waggle's retention_days. The
// name and slug never change.
func (a *API) handleUpdateDataset(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermCreateDatasets)
	if p == nil {
		return
	}
	var in datasetWriteJSON
	if err := mgmtDecode(w, r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if msg := validateDatasetWrite(&in); msg != "" {
		writeError(w, http.StatusUnprocessableEntity, msg)
		return
	}
	d, s, ok := a.lookupDataset(w, r, p.Env.ID, r.PathValue("slug"))
	if !ok {
		return
	}
	info := store.DatasetInfo{Name: d.Name, Retention: d.Retention}
	if in.Description != nil {
		info.Description = *in.Description
	}
	if in.RetentionDays != nil {
		info.Retention = time.Duration(*in.RetentionDays) * day
	}
	next := s
	next.ExpandJSONDepth = 0
	if in.ExpandJSONDepth != nil {
		next.ExpandJSONDepth = *in.ExpandJSONDepth
	}
	if in.Settings != nil && in.Settings.DeleteProtected != nil {
		next.DeleteProtected = *in.Settings.DeleteProtected
	}
	adm := a.admin()
	if next != s && adm == nil {
		writeError(w, http.StatusNotImplemented, "dataset settings are not available on this server")
		return
	}
	d, err := a.Store.UpdateDataset(r.Context(), p.Env.ID, d.Slug, info)
	if err != nil {
		a.storeError(w, err, msgDatasetNotFound)
		return
	}
	if next != s {
		if err := a.setDatasetSettings(r.Context(), p.Env.ID, d.Slug, next); err != nil {
			a.storeError(w, err, msgDatasetNotFound)
			return
		}
	}
	writeJSON(w, http.StatusOK, datasetOut(d, next))
}

// handleDeleteDataset serves DELETE /1/datasets/{slug}: 409 while the dataset
// is delete protected, else it deletes the dataset and its events and
// answers 202 as Honeycomb does (waggle's delete is already done by then).
func (a *API) handleDeleteDataset(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermCreateDatasets)
	if p == nil {
		return
	}
	d, s, ok := a.lookupDataset(w, r, p.Env.ID, r.PathValue("slug"))
	if !ok {
		return
	}
	if s.DeleteProtected {
		writeError(w, http.StatusConflict, "dataset is delete protected - turn off settings.delete_protected first")
		return
	}
	if err := a.Store.DeleteDataset(r.Context(), p.Env.ID, d.Slug); err != nil {
		a.storeError(w, err, msgDatasetNotFound)
		return
	}
	if adm := a.admin(); adm != nil {
		err := adm.DeleteDatasetSettings(r.Context(), p.Env.ID, d.Slug)
		a.expandCache.forget(p.Env.ID, d.Slug)
		if err != nil {
			a.Log.Warn("management: forget settings of deleted dataset", "dataset", d.Slug, "err", err)
		}
	}
	w.WriteHeader(http.StatusAccepted)
}
