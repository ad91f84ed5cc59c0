package honeycomb

import (
	"encoding/json"
	"net/http"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Burn alerts, permission manage_slos:
//
//	GET /1/burn_alerts/{dataset}?slo_id=   POST /1/burn_alerts/{dataset}
//	GET|PUT|DELETE /1/burn_alerts/{dataset}/{id}
//
// A burn alert belongs to an SLO of the dataset (slo.id); alert_type is
// exhaustion_time (fires when, at the burn rate of the last 4 hours, the
// remaining budget would be exhausted within exhaustion_minutes) or
// budget_rate (fires when the budget dropped by
// budget_rate_decrease_threshold_per_million or more over the last
// budget_rate_window_minutes). See internal/triggers/burnalerts.go.

func (a *API) registerBurnAlerts(mux *http.ServeMux) {
	if a.Alerting == nil || a.Alerting.DB == nil {
		return
	}
	mux.HandleFunc("GET /1/burn_alerts/{dataset}", a.handleListBurnAlerts)
	mux.HandleFunc("POST /1/burn_alerts/{dataset}", a.handleCreateBurnAlert)
	mux.HandleFunc("GET /1/burn_alerts/{dataset}/{id}", a.handleGetBurnAlert)
	mux.HandleFunc("PUT /1/burn_alerts/{dataset}/{id}", a.handleUpdateBurnAlert)
	mux.HandleFunc("DELETE /1/burn_alerts/{dataset}/{id}", a.handleDeleteBurnAlert)
}

// BurnAlert is a burn alert as the API and the evaluator see it.
type BurnAlert struct {
	ID                                    string              `json:"id,omitempty"`
	AlertType                             string              `json:"alert_type"`
	ExhaustionMinutes                     *int                `json:"exhaustion_minutes,omitempty"`
	BudgetRateWindowMinutes               *int                `json:"budget_rate_window_minutes,omitempty"`
	BudgetRateDecreaseThresholdPerMillion *int                `json:"budget_rate_decrease_threshold_per_million,omitempty"`
	Description                           string              `json:"description,omitempty"`
	SLO                                   struct{ ID string } `json:"slo"`
	Recipients                            []json.RawMessage   `json:"recipients,omitempty"`
	AutoInvestigate                       bool                `json:"auto_investigate,omitempty"`
	Triggered                             bool                `json:"triggered"`
	CreatedAt                             string              `json:"created_at,omitempty"`
	UpdatedAt                             string              `json:"updated_at,omitempty"`
}

func burnAlertOf(o meta.Object) BurnAlert {
	var b BurnAlert
	_ = json.Unmarshal(o.Body, &b)
	b.ID, b.CreatedAt, b.UpdatedAt = o.ID, mgmtTime(o.CreatedAt), mgmtTime(o.UpdatedAt)
	b.SLO.ID = o.Parent
	return b
}

func (a *API) burnAlertView(r *http.Request, p *tenant.Principal, o meta.Object) BurnAlert {
	b := burnAlertOf(o)
	if st, err := a.Alerting.DB.BurnAlertState(r.Context(), int64(p.Env.ID), o.ID); err == nil {
		b.Triggered = st.Triggered
	}
	return b
}

// sloOfDataset loads SLO id of dataset ds, answering 404 or 422 itself.
func (a *API) sloOfDataset(w http.ResponseWriter, r *http.Request, p *tenant.Principal, ds, id string, field string) bool {
	o, err := a.Alerting.DB.Object(r.Context(), int64(p.Env.ID), meta.KindSLO, id)
	if err != nil || o.Parent != ds {
		if field != "" {
			writeProblem(w, http.StatusUnprocessableEntity, field, "SLO "+truncateMsg(id)+" not found in this dataset")
		} else {
			writeError(w, http.StatusNotFound, "SLO not found")
		}
		return false
	}
	return true
}

func (a *API) handleListBurnAlerts(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageSLOs, true)
	if !ok {
		return
	}
	sloID := r.URL.Query().Get("slo_id")
	var parents []string
	if sloID != "" {
		if !a.sloOfDataset(w, r, p, ds, sloID, "") {
			return
		}
		parents = []string{sloID}
	} else {
		slos, err := a.Alerting.DB.Objects(r.Context(), int64(p.Env.ID), meta.KindSLO, ds)
		if err != nil {
			a.internalError(w, r, "list SLOs", err)
			return
		}
		for _, s := range slos {
			parents = append(parents, s.ID)
		}
	}
	out := []BurnAlert{}
	for _, parent := range parents {
		os, err := a.Alerting.DB.Objects(r.Context(), int64(p.Env.ID), meta.KindBurnAlert, parent)
		if err != nil {
			a.internalError(w, r, "list burn alerts", err)
			return
		}
		for _, o := range os {
			out = append(out, a.burnAlertView(r, p, o))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// readBurnAlert decodes and validates a burn alert of dataset ds.
func (a *API) readBurnAlert(w http.ResponseWriter, r *http.Request, p *tenant.Principal, ds string) (BurnAlert, []byte, bool) {
	var in BurnAlert
	if !readObject(w, r, 64<<10, &in) {
		return in, nil, false
	}
	bad := func(field, msg string) (BurnAlert, []byte, bool) {
		writeProblem(w, http.StatusUnprocessableEntity, field, msg)
		return in, nil, false
	}
	if in.AlertType == "" {
		in.AlertType = "exhaustion_time"
	}
	switch in.AlertType {
	case "exhaustion_time":
		if in.ExhaustionMinutes == nil || *in.ExhaustionMinutes < 0 || *in.ExhaustionMinutes > 60*24*90 {
			return bad("exhaustion_minutes", "exhaustion_minutes is required for exhaustion_time alerts (0 to 129600)")
		}
		in.BudgetRateWindowMinutes, in.BudgetRateDecreaseThresholdPerMillion = nil, nil
	case "budget_rate":
		if in.BudgetRateWindowMinutes == nil || *in.BudgetRateWindowMinutes < 60 || *in.BudgetRateWindowMinutes > 60*24*90 {
			return bad("budget_rate_window_minutes", "budget_rate_window_minutes is required for budget_rate alerts (at least 60)")
		}
		if in.BudgetRateDecreaseThresholdPerMillion == nil || *in.BudgetRateDecreaseThresholdPerMillion < 1 || *in.BudgetRateDecreaseThresholdPerMillion > 1000000 {
			return bad("budget_rate_decrease_threshold_per_million", "budget_rate_decrease_threshold_per_million is required for budget_rate alerts (1 to 1000000)")
		}
		in.ExhaustionMinutes = nil
	default:
		return bad("alert_type", "alert_type must be exhaustion_time or budget_rate")
	}
	if len(in.Description) > 1023 {
		return bad("description", "description must be at most 1023 characters")
	}
	if in.SLO.ID == "" {
		return bad("slo.id", "slo.id is required")
	}
	if !a.sloOfDataset(w, r, p, ds, in.SLO.ID, "slo.id") {
		return in, nil, false
	}
	in.ID, in.CreatedAt, in.UpdatedAt, in.Triggered = "", "", "", false
	raw, _ := json.Marshal(in)
	return in, raw, true
}

func (a *API) handleCreateBurnAlert(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageSLOs, true)
	if !ok {
		return
	}
	in, raw, ok := a.readBurnAlert(w, r, p, ds)
	if !ok {
		return
	}
	o, err := a.Alerting.DB.CreateObject(r.Context(), meta.Object{EnvID: int64(p.Env.ID), Kind: meta.KindBurnAlert, ID: newObjectID(), Parent: in.SLO.ID, Body: raw})
	if err != nil {
		a.objectError(w, r, "burn alert", err)
		return
	}
	writeJSON(w, http.StatusCreated, burnAlertOf(o))
}

// loadBurnAlert loads a burn alert whose SLO belongs to dataset ds.
func (a *API) loadBurnAlert(w http.ResponseWriter, r *http.Request, p *tenant.Principal, ds string) (meta.Object, bool) {
	o, ok := a.loadObject(w, r, p, meta.KindBurnAlert, "", r.PathValue("id"), "burn alert")
	if !ok {
		return o, false
	}
	s, err := a.Alerting.DB.Object(r.Context(), int64(p.Env.ID), meta.KindSLO, o.Parent)
	if err != nil || s.Parent != ds {
		writeError(w, http.StatusNotFound, "burn alert not found")
		return o, false
	}
	return o, true
}

func (a *API) handleGetBurnAlert(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageSLOs, true)
	if !ok {
		return
	}
	if o, ok := a.loadBurnAlert(w, r, p, ds); ok {
		writeJSON(w, http.StatusOK, a.burnAlertView(r, p, o))
	}
}

func (a *API) handleUpdateBurnAlert(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageSLOs, true)
	if !ok {
		return
	}
	o, ok := a.loadBurnAlert(w, r, p, ds)
	if !ok {
		return
	}
	in, raw, ok := a.readBurnAlert(w, r, p, ds)
	if !ok {
		return
	}
	o.Parent, o.Body = in.SLO.ID, raw
	o, err := a.Alerting.DB.UpdateObject(r.Context(), o)
	if err != nil {
		a.objectError(w, r, "burn alert", err)
		return
	}
	writeJSON(w, http.StatusOK, a.burnAlertView(r, p, o))
}

func (a *API) handleDeleteBurnAlert(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageSLOs, true)
	if !ok {
		return
	}
	o, ok := a.loadBurnAlert(w, r, p, ds)
	if !ok {
		return
	}
	if err := a.Alerting.DB.DeleteObject(r.Context(), int64(p.Env.ID), o.Kind, o.ID); err != nil {
		a.objectError(w, r, "burn alert", err)
		return
	}
	_ = a.Alerting.DB.DeleteBurnAlertState(r.Context(), int64(p.Env.ID), o.ID)
	w.WriteHeader(http.StatusNoContent)
}
