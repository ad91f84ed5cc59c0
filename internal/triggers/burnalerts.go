package triggers

// Burn alerts: the evaluator of Honeycomb's SLO burn alerts
// (meta.KindBurnAlert objects under their SLO, meta.KindSLO under its
// dataset), run by the trigger engine's scheduler in the same pass as the
// triggers (EvaluateDue), once a minute per burn alert.
//
// Figures, from the SLO's SLI (a boolean derived column: true good, false
// bad), counted through the query engine (sample-rate weighted) with
// allowed = 1 − target_per_million / 10⁶:
//
//   - budget_remaining = 1 − bad / ((good + bad) × allowed) over the last
//     time_period_days (as ?detailed on /1/slos shows it, there ×100);
//   - exhaustion_time: burn rate b = (bad / total over the last
//     BurnLookback = 4 h) / allowed (b = 1 spends the whole budget in
//     exactly the period); minutes to exhaustion = budget_remaining ×
//     period minutes / b (infinite when nothing burned in the last 4 h, 0
//     once the budget is spent). Fires when that is below
//     exhaustion_minutes, or the budget is spent;
//   - budget_rate: the budget spent in the last budget_rate_window_minutes,
//     in per-million of the period's budget: bad in the window /
//     (total over the period × allowed) × 10⁶. Fires when ≥
//     budget_rate_decrease_threshold_per_million.
//
// State: a burn alert notifies on transitions only (TRIGGERED when it
// starts to fire, OK when it stops). Exactly once per minute, as triggers:
// the evaluation of a minute is compared and set together with its
// deliveries in one transaction (meta.DB.CommitTriggerEvaluation on the
// ledger key "burn_alert:<id>" of trigger_states, which holds the interval),
// and in the same transaction burn_alert_states gets the state the API
// shows (triggered, value, last error).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/notify"
	"github.com/waggle-hq/waggle/internal/query"
)

// Burn alert types.
const (
	BurnExhaustionTime = "exhaustion_time"
	BurnBudgetRate     = "budget_rate"
)

// BurnLookback is the recent window whose burn rate exhaustion_time alerts
// extrapolate (the same 4 hours as the burn_rate of /1/slos ?detailed).
const BurnLookback = 4 * time.Hour

// burnInterval is how often a burn alert is evaluated (seconds).
const burnInterval = 60

// burnLedgerPrefix keys burn alerts' evaluations in trigger_states.
const burnLedgerPrefix = "burn_alert:"

// BurnAlert is a stored burn alert as the evaluator reads it.
type BurnAlert struct {
	ID                                    string             `json:"id"`
	AlertType                             string             `json:"alert_type"`
	ExhaustionMinutes                     *int               `json:"exhaustion_minutes,omitempty"`
	BudgetRateWindowMinutes               *int               `json:"budget_rate_window_minutes,omitempty"`
	BudgetRateDecreaseThresholdPerMillion *int               `json:"budget_rate_decrease_threshold_per_million,omitempty"`
	Description                           string             `json:"description,omitempty"`
	Recipients                            []TriggerRecipient `json:"recipients,omitempty"`
	SLOID                                 string             `json:"-"`
}

// SLO is a stored SLO as the evaluator reads it.
type SLO struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	SLI              SLOSLI   `json:"sli"`
	TimePeriodDays   int      `json:"time_period_days"`
	TargetPerMillion int      `json:"target_per_million"`
	DatasetSlugs     []string `json:"dataset_slugs,omitempty"`
	// Dataset is the SLO's dataset slug (or "__all__").
	Dataset string `json:"-"`
}

// SLOSLI names the SLI's derived column.
type SLOSLI struct {
	Alias string `json:"alias"`
}

func (s *SLO) datasets() []string {
	if s.Dataset == event.AllDatasets {
		return s.DatasetSlugs
	}
	return []string{s.Dataset}
}

func (s *SLO) allowed() float64 { return 1 - float64(s.TargetPerMillion)/1e6 }

// BurnFigures are what one evaluation of a burn alert found.
type BurnFigures struct {
	// BudgetRemaining is the fraction of the period's budget left (≤ 0
	// when spent).
	BudgetRemaining float64
	// BurnRate is over BurnLookback.
	BurnRate float64
	// MinutesToExhaustion (exhaustion_time; +Inf: not burning).
	MinutesToExhaustion float64
	// DecreasePerMillion is the budget spent in the window (budget_rate).
	DecreasePerMillion float64
}

// BurnAlertEventName is the delivery log's event name of a burn alert.
func BurnAlertEventName(id string) string { return burnLedgerPrefix + id }

type burnDue struct {
	b        *BurnAlert
	slo      *SLO
	env      int64
	interval int64
	prev     *meta.TriggerState
}

// evaluateBurnAlerts evaluates every burn alert whose minute was not
// evaluated yet; it returns how many evaluations it committed.
func (e *Engine) evaluateBurnAlerts(ctx context.Context, d *notify.Deliverer, now time.Time) (int, error) {
	objs, err := e.opt.DB.AllObjects(ctx, meta.KindBurnAlert)
	if err != nil {
		return 0, err
	}
	slos, err := e.opt.DB.AllObjects(ctx, meta.KindSLO)
	if err != nil {
		return 0, err
	}
	states, err := e.opt.DB.TriggerStates(ctx)
	if err != nil {
		return 0, err
	}
	sloBy := map[string]*SLO{}
	for _, o := range slos {
		var s SLO
		if err := json.Unmarshal(o.Body, &s); err != nil {
			e.log.Error("burn alerts: stored SLO", "env", o.EnvID, "slo", o.ID, "err", err)
			continue
		}
		s.ID, s.Dataset = o.ID, o.Parent
		sloBy[fmt.Sprint(o.EnvID, "/", o.ID)] = &s
	}
	ledger := map[string]*meta.TriggerState{}
	for i := range states {
		if strings.HasPrefix(states[i].TriggerID, burnLedgerPrefix) {
			ledger[fmt.Sprint(states[i].EnvID, "/", strings.TrimPrefix(states[i].TriggerID, burnLedgerPrefix))] = &states[i]
		}
	}
	iv := now.Unix() - now.Unix()%burnInterval
	var work []burnDue
	live := map[string]bool{}
	for _, o := range objs {
		key := fmt.Sprint(o.EnvID, "/", o.ID)
		live[key] = true
		var b BurnAlert
		if err := json.Unmarshal(o.Body, &b); err != nil {
			e.log.Error("burn alerts: stored burn alert", "env", o.EnvID, "alert", o.ID, "err", err)
			continue
		}
		b.ID, b.SLOID = o.ID, o.Parent
		s := sloBy[fmt.Sprint(o.EnvID, "/", o.Parent)]
		if s == nil {
			continue // its SLO is gone (being deleted)
		}
		prev := ledger[key]
		if prev != nil && prev.IntervalStart >= iv {
			continue
		}
		work = append(work, burnDue{b: &b, slo: s, env: o.EnvID, interval: iv, prev: prev})
	}
	// Forget the state of burn alerts that are gone (deleted, or with their
	// SLO): a ledger row exists only for an alert an earlier pass saw.
	for key, st := range ledger {
		if !live[key] {
			alert := strings.TrimPrefix(st.TriggerID, burnLedgerPrefix)
			_ = e.opt.DB.DeleteTriggerState(ctx, st.EnvID, st.TriggerID)
			_ = e.opt.DB.DeleteBurnAlertState(ctx, st.EnvID, alert)
		}
	}
	cache := sloCountCache{}
	n := 0
	for _, w := range work {
		if ctx.Err() != nil {
			break
		}
		ok, err := e.evaluateBurn(ctx, d, w, now, cache)
		if err != nil {
			e.log.Error("burn alerts: evaluate", "env", w.env, "alert", w.b.ID, "err", err)
		}
		if ok {
			n++
		}
	}
	return n, ctx.Err()
}

// burnState is the ledger's per-alert detail (trigger_states.groups).
type burnState struct {
	Value           float64 `json:"v"`
	BudgetRemaining float64 `json:"b"`
}

func (e *Engine) evaluateBurn(ctx context.Context, d *notify.Deliverer, w burnDue, now time.Time, cache sloCountCache) (bool, error) {
	prevTriggered := w.prev != nil && w.prev.Triggered
	st := meta.TriggerState{EnvID: w.env, TriggerID: burnLedgerPrefix + w.b.ID, IntervalStart: w.interval}
	bs := meta.BurnAlertState{EnvID: w.env, AlertID: w.b.ID}
	f, err := e.burnFigures(ctx, w.env, w.slo, w.b, now, cache)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		// Keep the state; try again next minute.
		st.Triggered, st.LastError = prevTriggered, truncate(err.Error(), 1000)
		if w.prev != nil {
			st.Groups = w.prev.Groups
		}
		bs.Triggered, bs.LastError = prevTriggered, st.LastError
		ok, _, cerr := e.commitBurn(ctx, st, bs, nil)
		return ok, errors.Join(err, cerr)
	}
	firing, value := burnFires(w.b, f)
	raw, _ := json.Marshal(burnState{Value: finite(value), BudgetRemaining: f.BudgetRemaining})
	st.Triggered, st.Groups = firing, string(raw)
	bs.Triggered, bs.Value = firing, finite(value)
	status := ""
	switch {
	case firing && !prevTriggered:
		status = StatusTriggered
	case !firing && prevTriggered:
		status = StatusOK
	}
	var items []notify.Addressed
	if status != "" {
		a := &BurnAlertNotice{Alert: w.b, SLO: w.slo, Status: status, Figures: f,
			Environment: e.envSlug(ctx, w.env), SLOURL: e.sloURL(w.slo), AlertURL: e.burnAlertURL(w.slo, w.b)}
		items = e.renderBurn(ctx, d, w.env, a)
	}
	ok, rows, err := e.commitBurn(ctx, st, bs, notify.Rows(event.EnvID(w.env), BurnAlertEventName(w.b.ID), items))
	if err != nil || !ok {
		return false, err
	}
	if status != "" {
		e.log.Info("burn alerts: "+strings.ToLower(status), "env", w.env, "alert", w.b.ID, "slo", w.slo.ID,
			"type", w.b.AlertType, "value", finite(value), "recipients", len(items))
	}
	d.Dispatch(BurnAlertEventName(w.b.ID), items, rows)
	return true, nil
}

// commitBurn records the minute's evaluation (compare-and-set on the
// ledger), its deliveries and the burn alert's state in one transaction.
func (e *Engine) commitBurn(ctx context.Context, st meta.TriggerState, bs meta.BurnAlertState, ds []meta.NotifyDelivery) (bool, []meta.NotifyDelivery, error) {
	var won bool
	var rows []meta.NotifyDelivery
	err := e.opt.DB.Tx(ctx, func(tx *meta.DB) error {
		var err error
		won, rows, err = tx.CommitTriggerEvaluation(ctx, st, ds)
		if err != nil || !won {
			return err
		}
		return tx.SetBurnAlertState(ctx, bs)
	})
	if err != nil {
		return false, nil, err
	}
	return won, rows, nil
}

// burnFires judges f for b and returns the figure it judged.
func burnFires(b *BurnAlert, f BurnFigures) (bool, float64) {
	switch b.AlertType {
	case BurnBudgetRate:
		th := 0
		if b.BudgetRateDecreaseThresholdPerMillion != nil {
			th = *b.BudgetRateDecreaseThresholdPerMillion
		}
		return th > 0 && f.DecreasePerMillion >= float64(th), f.DecreasePerMillion
	default:
		m := 0
		if b.ExhaustionMinutes != nil {
			m = *b.ExhaustionMinutes
		}
		return f.BudgetRemaining <= 0 || f.MinutesToExhaustion < float64(m), f.MinutesToExhaustion
	}
}

// ComputeBurn computes a burn alert's figures at now.
func ComputeBurn(ctx context.Context, eng *query.Engine, env event.EnvID, s *SLO, b *BurnAlert, now time.Time) (BurnFigures, error) {
	e := &Engine{opt: Options{Query: eng, QueryTimeout: 30 * time.Second}}
	return e.burnFigures(ctx, int64(env), s, b, now, sloCountCache{})
}

func (e *Engine) burnFigures(ctx context.Context, env int64, s *SLO, b *BurnAlert, now time.Time, cache sloCountCache) (BurnFigures, error) {
	f := BurnFigures{BudgetRemaining: 1, MinutesToExhaustion: math.Inf(1)}
	if s.SLI.Alias == "" || s.TimePeriodDays < 1 {
		return f, fmt.Errorf("SLO %s has no SLI or period", s.ID)
	}
	period := time.Duration(s.TimePeriodDays) * 24 * time.Hour
	allowed := s.allowed()
	count := func(d time.Duration) (float64, float64, error) {
		return cache.counts(ctx, e, env, s, now.Add(-d), now)
	}
	good, bad, err := count(period)
	if err != nil {
		return f, err
	}
	total := good + bad
	switch {
	case total == 0:
	case allowed > 0:
		f.BudgetRemaining = 1 - bad/(total*allowed)
	case bad > 0:
		f.BudgetRemaining = -1
	}
	switch b.AlertType {
	case BurnBudgetRate:
		win := 0
		if b.BudgetRateWindowMinutes != nil {
			win = *b.BudgetRateWindowMinutes
		}
		if win <= 0 || total == 0 {
			return f, nil
		}
		_, wbad, err := count(time.Duration(win) * time.Minute)
		if err != nil {
			return f, err
		}
		switch {
		case allowed > 0:
			f.DecreasePerMillion = wbad / (total * allowed) * 1e6
		case wbad > 0:
			f.DecreasePerMillion = 1e6
		}
	default:
		lg, lb, err := count(BurnLookback)
		if err != nil {
			return f, err
		}
		if t := lg + lb; t > 0 && allowed > 0 {
			f.BurnRate = lb / t / allowed
		}
		switch {
		case f.BudgetRemaining <= 0:
			f.MinutesToExhaustion = 0
		case f.BurnRate > 0:
			f.MinutesToExhaustion = f.BudgetRemaining * period.Minutes() / f.BurnRate
		}
	}
	return f, nil
}

// sloCountCache shares counts between the burn alerts of an SLO within one
// pass (one clock reading, so the same windows).
type sloCountCache map[string][2]float64

func (c sloCountCache) counts(ctx context.Context, e *Engine, env int64, s *SLO, start, end time.Time) (float64, float64, error) {
	key := fmt.Sprint(env, "/", s.ID, "/", start.Unix(), "/", end.Unix())
	if v, ok := c[key]; ok {
		return v[0], v[1], nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.opt.QueryTimeout)
	defer cancel()
	good, bad, err := SLICounts(ctx, e.opt.Query, event.EnvID(env), s.datasets(), s.SLI.Alias, start, end)
	if err != nil {
		return 0, 0, err
	}
	c[key] = [2]float64{good, bad}
	return good, bad, nil
}

// SLICounts counts the good (SLI true) and bad (false) events of datasets
// in [start, end) through the query engine, sample-rate weighted.
func SLICounts(ctx context.Context, eng *query.Engine, env event.EnvID, datasets []string, alias string, start, end time.Time) (good, bad float64, err error) {
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
	g, _ := number(out.Results[0].Data["good"])
	b, _ := number(out.Results[0].Data["bad"])
	return g, b, nil
}

func finite(f float64) float64 {
	switch {
	case math.IsInf(f, 1):
		return math.MaxFloat64
	case math.IsInf(f, -1), math.IsNaN(f):
		return 0
	}
	return f
}

// renderBurn resolves the burn alert's recipients (by id, or by type and
// target) and renders one payload each.
func (e *Engine) renderBurn(ctx context.Context, d *notify.Deliverer, env int64, a *BurnAlertNotice) []notify.Addressed {
	var items []notify.Addressed
	seen := map[int64]bool{}
	var all []notify.Recipient
	for _, br := range a.Alert.Recipients {
		var r notify.Recipient
		if id, ok := notify.ParseRecipientID(br.ID); ok {
			got, err := d.Recipient(ctx, event.EnvID(env), id)
			if err != nil {
				e.log.Warn("burn alerts: recipient", "alert", a.Alert.ID, "recipient", br.ID, "err", err)
				continue
			}
			r = got
		} else if br.Type != "" {
			if all == nil {
				var err error
				if all, err = d.Recipients(ctx, event.EnvID(env), Source); err != nil {
					e.log.Warn("burn alerts: recipients", "alert", a.Alert.ID, "err", err)
					continue
				}
			}
			found := false
			for _, c := range all {
				if string(c.Kind) == br.Type && (c.Target == br.Target || c.Name == br.Target) {
					r, found = c, true
					break
				}
			}
			if !found {
				e.log.Warn("burn alerts: recipient not found", "alert", a.Alert.ID, "type", br.Type, "target", br.Target)
				continue
			}
		} else {
			continue
		}
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		p, err := a.Render(r, br.Details)
		if err != nil {
			e.log.Warn("burn alerts: render payload", "alert", a.Alert.ID, "recipient", r.ID, "err", err)
			continue
		}
		items = append(items, notify.Addressed{Recipient: r, Payload: p, Summary: a.Summary()})
	}
	return items
}

func (e *Engine) sloURL(s *SLO) string {
	return strings.TrimRight(e.opt.BaseURL, "/") + "/1/slos/" + url.PathEscape(s.Dataset) + "/" + url.PathEscape(s.ID)
}

func (e *Engine) burnAlertURL(s *SLO, b *BurnAlert) string {
	return strings.TrimRight(e.opt.BaseURL, "/") + "/1/burn_alerts/" + url.PathEscape(s.Dataset) + "/" + url.PathEscape(b.ID)
}
