package honeycomb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// SLOs, permission manage_slos:
//
//	GET|POST /1/slos/{dataset|__all__}
//	GET|PUT|DELETE /1/slos/{dataset|__all__}/{id}   (?detailed on GET)
//
// An SLO's SLI is a derived column (sli.alias) whose expression is a
// boolean: true is a good event, false a bad one, null is not counted.
// ?detailed adds figures computed through the query engine (SLOFigures):
// compliance and budget_remaining over the last time_period_days, burn_rate
// over the last 4 hours, and status.

func (a *API) registerSLOs(mux *http.ServeMux) {
	if a.Alerting == nil || a.Alerting.DB == nil {
		return
	}
	mux.HandleFunc("GET /1/slos/{dataset}", a.handleListSLOs)
	mux.HandleFunc("POST /1/slos/{dataset}", a.handleCreateSLO)
	mux.HandleFunc("GET /1/slos/{dataset}/{id}", a.handleGetSLO)
	mux.HandleFunc("PUT /1/slos/{dataset}/{id}", a.handleUpdateSLO)
	mux.HandleFunc("DELETE /1/slos/{dataset}/{id}", a.handleDeleteSLO)
	a.registerSLOCounts(mux) // slos_counts.go
}

type slo struct {
	ID               string          `json:"id,omitempty"`
	Name             string          `json:"name"`
	Description      string          `json:"description"`
	SLI              sloSLI          `json:"sli"`
	TimePeriodDays   int             `json:"time_period_days"`
	TargetPerMillion int             `json:"target_per_million"`
	Tags             json.RawMessage `json:"tags,omitempty"`
	DatasetSlugs     []string        `json:"dataset_slugs,omitempty"`
	ResetAt          *string         `json:"reset_at,omitempty"`
	CreatedAt        string          `json:"created_at,omitempty"`
	UpdatedAt        string          `json:"updated_at,omitempty"`
	// ?detailed
	Compliance      *float64 `json:"compliance,omitempty"`
	BudgetRemaining *float64 `json:"budget_remaining,omitempty"`
	BurnRate        *float64 `json:"burn_rate,omitempty"`
	Status          string   `json:"status,omitempty"`
}

type sloSLI struct {
	Alias string `json:"alias"`
}

func sloOf(o meta.Object) slo {
	var s slo
	_ = json.Unmarshal(o.Body, &s)
	s.ID, s.CreatedAt, s.UpdatedAt = o.ID, mgmtTime(o.CreatedAt), mgmtTime(o.UpdatedAt)
	return s
}

// SLOFigures are an SLO's computed figures.
type SLOFigures struct {
	// Good and Bad are the (sample-rate weighted) counts of events whose
	// SLI was true and false over the SLO's period.
	Good, Bad float64
	// Compliance is the percentage of good events (100 with no events).
	Compliance float64
	// BudgetRemaining is the percentage of the error budget left: 100 ×
	// (1 − bad / ((good + bad) × (1 − target))); negative when overspent.
	BudgetRemaining float64
	// BurnRate is the rate the budget burned over the last 4 hours: the
	// bad fraction there divided by the allowed bad fraction (1 means the
	// budget lasts exactly the period).
	BurnRate float64
}

// sloCounts counts good and bad events of an SLO's SLI in [start, end)
// through the query engine: one COUNT per calculation filter.
func sloCounts(ctx context.Context, eng *query.Engine, env event.EnvID, datasets []string, alias string, start, end time.Time) (good, bad float64, err error) {
	st, en := start.Unix(), end.Unix()
	if en <= st {
		return 0, 0, nil
	}
	eq := func(v bool) []query.SpecFilter {
		raw, _ := json.Marshal(v)
		return []query.SpecFilter{{Column: alias, Op: "=", Value: raw}}
	}
	spec := &query.Spec{
		Calculations: []query.Calculation{{Op: "COUNT", Name: "good", Filters: eq(true)}, {Op: "COUNT", Name: "bad", Filters: eq(false)}},
		StartTime:    &st, EndTime: &en,
	}
	out, err := eng.Run(ctx, env, datasets, spec, query.Options{DisableSeries: true, DisableTotalByAggregate: true, DisableOtherByAggregate: true, Now: end})
	if err != nil {
		return 0, 0, err
	}
	if len(out.Results) == 0 {
		return 0, 0, nil
	}
	num := func(k string) float64 {
		f, _ := out.Results[0].Data[k].(float64)
		return f
	}
	return num("good"), num("bad"), nil
}

// ComputeSLO computes an SLO's figures at now over datasets (none:
// __all__).
func ComputeSLO(ctx context.Context, eng *query.Engine, env event.EnvID, datasets []string, alias string, periodDays, targetPerMillion int, now time.Time) (SLOFigures, error) {
	var f SLOFigures
	var err error
	f.Good, f.Bad, err = sloCounts(ctx, eng, env, datasets, alias, now.Add(-time.Duration(periodDays)*24*time.Hour), now)
	if err != nil {
		return f, err
	}
	allowed := 1 - float64(targetPerMillion)/1e6
	f.Compliance, f.BudgetRemaining = 100, 100
	if total := f.Good + f.Bad; total > 0 {
		f.Compliance = 100 * f.Good / total
		if allowed > 0 {
			f.BudgetRemaining = 100 * (1 - f.Bad/(total*allowed))
		} else if f.Bad > 0 {
			f.BudgetRemaining = -100
		}
	}
	g4, b4, err := sloCounts(ctx, eng, env, datasets, alias, now.Add(-4*time.Hour), now)
	if err != nil {
		return f, err
	}
	if t := g4 + b4; t > 0 && allowed > 0 {
		f.BurnRate = b4 / t / allowed
	}
	return f, nil
}

func sloDatasets(parent string, s slo) []string {
	if parent != event.AllDatasets {
		return []string{parent}
	}
	return s.DatasetSlugs
}

func (a *API) handleListSLOs(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageSLOs, true)
	if !ok {
		return
	}
	os, err := a.Alerting.DB.Objects(r.Context(), int64(p.Env.ID), meta.KindSLO, ds)
	if err != nil {
		a.internalError(w, r, "list SLOs", err)
		return
	}
	out := make([]slo, 0, len(os))
	for _, o := range os {
		out = append(out, sloOf(o))
	}
	writeJSON(w, http.StatusOK, out)
}

// readSLO decodes and validates an SLO of dataset ds.
func (a *API) readSLO(w http.ResponseWriter, r *http.Request, p *tenant.Principal, ds string) ([]byte, bool) {
	var in slo
	if !readObject(w, r, 64<<10, &in) {
		return nil, false
	}
	in.Name = strings.TrimSpace(in.Name)
	bad := func(field, msg string) ([]byte, bool) {
		writeProblem(w, http.StatusUnprocessableEntity, field, msg)
		return nil, false
	}
	switch {
	case in.Name == "" || len(in.Name) > 120:
		return bad("name", "name is required and must be at most 120 characters")
	case len(in.Description) > 1023:
		return bad("description", "description must be at most 1023 characters")
	case in.TimePeriodDays < 1 || in.TimePeriodDays > 90:
		return bad("time_period_days", "time_period_days must be between 1 and 90")
	case in.TargetPerMillion < 0 || in.TargetPerMillion > 999999:
		return bad("target_per_million", "target_per_million must be between 0 and 999999")
	case in.SLI.Alias == "":
		return bad("sli.alias", "sli.alias is required: the alias of a derived column")
	case ds == event.AllDatasets && (len(in.DatasetSlugs) < 1 || len(in.DatasetSlugs) > 10):
		return bad("dataset_slugs", "an environment-wide SLO needs 1 to 10 dataset_slugs")
	case ds != event.AllDatasets && len(in.DatasetSlugs) > 0:
		return bad("dataset_slugs", "dataset_slugs is only for SLOs of __all__")
	}
	datasets := sloDatasets(ds, in)
	if ds == event.AllDatasets {
		if err := a.Engine.CheckDatasets(r.Context(), p.Env.ID, datasets); err != nil {
			return bad("dataset_slugs", "unknown dataset in dataset_slugs")
		}
	}
	// The SLI must be a boolean derived column visible to the datasets.
	spec := &query.Spec{Calculations: []query.Calculation{{Op: "COUNT_DISTINCT", Column: in.SLI.Alias}}}
	plan, err := a.Engine.Plan(r.Context(), p.Env.ID, datasets, spec, query.Options{})
	if err != nil {
		var qe *query.Error
		if errors.As(err, &qe) {
			return bad("sli.alias", "sli.alias "+truncateMsg(in.SLI.Alias)+" is not a derived column of this dataset")
		}
		a.internalError(w, r, "check SLI", err)
		return nil, false
	}
	d, ok := plan.Derived[in.SLI.Alias]
	if !ok {
		return bad("sli.alias", "sli.alias "+truncateMsg(in.SLI.Alias)+" is a column, not a derived column")
	}
	if d.Type != event.TypeBool {
		return bad("sli.alias", fmt.Sprintf("the SLI %s must be a boolean expression, not a %s one", truncateMsg(in.SLI.Alias), d.Type))
	}
	in.ID, in.CreatedAt, in.UpdatedAt = "", "", ""
	in.Compliance, in.BudgetRemaining, in.BurnRate, in.Status = nil, nil, nil, ""
	raw, _ := json.Marshal(in)
	return raw, true
}

func (a *API) handleCreateSLO(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageSLOs, true)
	if !ok {
		return
	}
	raw, ok := a.readSLO(w, r, p, ds)
	if !ok {
		return
	}
	o, err := a.Alerting.DB.CreateObject(r.Context(), meta.Object{EnvID: int64(p.Env.ID), Kind: meta.KindSLO, ID: newObjectID(), Parent: ds, Body: raw})
	if err != nil {
		a.objectError(w, r, "SLO", err)
		return
	}
	writeJSON(w, http.StatusCreated, sloOf(o))
}

func (a *API) handleGetSLO(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageSLOs, true)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindSLO, ds, r.PathValue("id"), "SLO")
	if !ok {
		return
	}
	s := sloOf(o)
	if r.URL.Query().Has("detailed") && r.URL.Query().Get("detailed") != "false" {
		f, err := ComputeSLO(r.Context(), a.Engine, p.Env.ID, sloDatasets(ds, s), s.SLI.Alias, s.TimePeriodDays, s.TargetPerMillion, a.Now())
		if err != nil {
			a.internalError(w, r, "compute SLO", err)
			return
		}
		s.Compliance, s.BudgetRemaining, s.BurnRate = &f.Compliance, &f.BudgetRemaining, &f.BurnRate
		s.Status = "ok"
		if f.BudgetRemaining <= 0 {
			s.Status = "exhausted"
		}
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *API) handleUpdateSLO(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageSLOs, true)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindSLO, ds, r.PathValue("id"), "SLO")
	if !ok {
		return
	}
	raw, ok := a.readSLO(w, r, p, ds)
	if !ok {
		return
	}
	o.Body = raw
	o, err := a.Alerting.DB.UpdateObject(r.Context(), o)
	if err != nil {
		a.objectError(w, r, "SLO", err)
		return
	}
	writeJSON(w, http.StatusOK, sloOf(o))
}

func (a *API) handleDeleteSLO(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageSLOs, true)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindSLO, ds, r.PathValue("id"), "SLO")
	if !ok {
		return
	}
	if err := a.Alerting.DB.DeleteObject(r.Context(), int64(p.Env.ID), o.Kind, o.ID); err != nil {
		a.objectError(w, r, "SLO", err)
		return
	}
	// Its burn alerts go with it.
	_ = a.Alerting.DB.DeleteObjectsOf(r.Context(), int64(p.Env.ID), meta.KindBurnAlert, o.ID)
	w.WriteHeader(http.StatusNoContent)
}
