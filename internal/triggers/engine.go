package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/notify"
	"github.com/waggle-hq/waggle/internal/query"
)

// LeaseName is the meta lease of the node that evaluates triggers.
const LeaseName = "triggers"

// Options configure an Engine.
type Options struct {
	DB    *meta.DB
	Query *query.Engine
	// Notify returns the deliverer (nil: not ready yet; the pass is
	// skipped).
	Notify func() *notify.Deliverer
	// Now is the clock (default time.Now); tests inject theirs.
	Now func() time.Time
	// BaseURL prefixes the trigger and result links of payloads.
	BaseURL string
	Log     *slog.Logger
	// Tick is how often due triggers are looked for (default 10 s).
	Tick time.Duration
	// QueryTimeout bounds one trigger's query (default 30 s).
	QueryTimeout time.Duration
	// Workers evaluate triggers in parallel (default 2).
	Workers int
	// LeaseTTL of the scheduler lease (default 30 s); Holder identifies this
	// node (default meta.NewHolderID()).
	LeaseTTL time.Duration
	Holder   string
}

// Engine evaluates triggers. Run schedules; EvaluateDue is one pass.
type Engine struct {
	opt   Options
	log   *slog.Logger
	lease *meta.Lease
}

// New returns an engine.
func New(opt Options) *Engine {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Tick <= 0 {
		opt.Tick = 10 * time.Second
	}
	if opt.QueryTimeout <= 0 {
		opt.QueryTimeout = 30 * time.Second
	}
	if opt.Workers <= 0 {
		opt.Workers = 2
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = 30 * time.Second
	}
	if opt.Holder == "" {
		opt.Holder = meta.NewHolderID()
	}
	e := &Engine{opt: opt, log: opt.Log}
	e.lease = opt.DB.NewLease(LeaseName, opt.Holder, opt.LeaseTTL, opt.Log)
	return e
}

// Run evaluates due triggers every Tick while this node holds the scheduler
// lease, until ctx is done; then it gives the lease up.
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.lease.Keep(ctx)
	}()
	defer wg.Wait()
	t := time.NewTicker(e.opt.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !e.lease.Held() {
			continue
		}
		if _, err := e.EvaluateDue(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("triggers: evaluate", "err", err)
		}
	}
}

// due is one trigger to evaluate for one interval.
type due struct {
	t        *Trigger
	env      int64
	interval int64
	prev     *meta.TriggerState
}

// EvaluateDue evaluates every enabled trigger whose current interval was not
// evaluated yet, then every burn alert whose minute was not, and returns how
// many it evaluated (committed).
func (e *Engine) EvaluateDue(ctx context.Context) (int, error) {
	d := e.notifier()
	if d == nil {
		return 0, nil
	}
	objs, err := e.opt.DB.AllObjects(ctx, meta.KindTrigger)
	if err != nil {
		return 0, err
	}
	states, err := e.opt.DB.TriggerStates(ctx)
	if err != nil {
		return 0, err
	}
	byKey := map[string]*meta.TriggerState{}
	for i := range states {
		byKey[fmt.Sprint(states[i].EnvID, "/", states[i].TriggerID)] = &states[i]
	}
	now := e.opt.Now().UTC()
	var work []due
	for _, o := range objs {
		t, err := FromObject(o)
		if err != nil {
			e.log.Error("triggers: stored trigger", "env", o.EnvID, "trigger", o.ID, "err", err)
			continue
		}
		if t.Disabled || t.Frequency <= 0 || !inSchedule(t, now) {
			continue
		}
		iv := now.Unix() - now.Unix()%t.Frequency
		prev := byKey[fmt.Sprint(o.EnvID, "/", o.ID)]
		if prev != nil && prev.IntervalStart >= iv {
			continue
		}
		work = append(work, due{t: t, env: o.EnvID, interval: iv, prev: prev})
	}
	var (
		mu   sync.Mutex
		n    int
		wg   sync.WaitGroup
		jobs = make(chan due)
	)
	for range min(e.opt.Workers, max(len(work), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range jobs {
				ok, err := e.evaluate(ctx, d, w, now)
				if err != nil {
					e.log.Error("triggers: evaluate trigger", "env", w.env, "trigger", w.t.ID, "err", err)
				}
				if ok {
					mu.Lock()
					n++
					mu.Unlock()
				}
			}
		}()
	}
	for _, w := range work {
		if ctx.Err() != nil {
			break
		}
		jobs <- w
	}
	close(jobs)
	wg.Wait()
	if ctx.Err() == nil {
		// Burn alerts (burnalerts.go) are evaluated in the same pass.
		nb, err := e.evaluateBurnAlerts(ctx, d, now)
		if err != nil && ctx.Err() == nil {
			e.log.Error("burn alerts: evaluate", "err", err)
		}
		n += nb
	}
	return n, ctx.Err()
}

func (e *Engine) notifier() *notify.Deliverer {
	if e.opt.Notify == nil {
		return nil
	}
	return e.opt.Notify()
}

// groupState is one result group's state between evaluations.
type groupState struct {
	Group map[string]any `json:"g,omitempty"`
	// Count is how many evaluations in a row exceeded the threshold.
	Count     int     `json:"n"`
	Triggered bool    `json:"t"`
	Result    float64 `json:"r"`
}

// evaluate runs one trigger for one interval and commits the outcome with
// its notifications; it reports whether this evaluation was the one
// recorded for the interval.
func (e *Engine) evaluate(ctx context.Context, d *notify.Deliverer, w due, now time.Time) (bool, error) {
	t := w.t
	prevGroups := map[string]groupState{}
	prevTriggered := false
	if w.prev != nil {
		_ = json.Unmarshal([]byte(w.prev.Groups), &prevGroups)
		prevTriggered = w.prev.Triggered
	}
	st := meta.TriggerState{EnvID: w.env, TriggerID: t.ID, IntervalStart: w.interval}
	results, err := e.results(ctx, w.env, t, now)
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		// Keep the state; try again next interval.
		st.Triggered, st.Groups, st.LastError = prevTriggered, w.prevGroups(), truncate(err.Error(), 1000)
		ok, _, cerr := e.opt.DB.CommitTriggerEvaluation(ctx, st, nil)
		return ok, errors.Join(err, cerr)
	}
	groups := map[string]groupState{}
	var all, trig []GroupResult
	for _, r := range results {
		k := groupKey(r.Group)
		g := groupState{Group: r.Group, Result: r.Result}
		if exceeds(t.Threshold.Op, r.Result, *t.Threshold.Value) {
			g.Count = min(prevGroups[k].Count+1, MaxExceeded)
			g.Triggered = g.Count >= t.Threshold.ExceededLimit
		}
		groups[k] = g
		all = append(all, GroupResult(r))
		if g.Triggered {
			trig = append(trig, GroupResult(r))
		}
	}
	triggered := len(trig) > 0
	status := ""
	switch {
	case triggered && (!prevTriggered || t.AlertType == AlertOnTrue):
		status = StatusTriggered
	case !triggered && prevTriggered:
		status = StatusOK
	}
	raw, _ := json.Marshal(groups)
	st.Triggered, st.Groups = triggered, string(raw)
	var items []notify.Addressed
	if status != "" {
		a := &Alert{Trigger: t, Status: status, Groups: all, GroupsTriggered: trig,
			Environment: e.envSlug(ctx, w.env), TriggerURL: e.triggerURL(t), ResultURL: e.resultURL(t)}
		items = e.render(ctx, d, w.env, a)
	}
	ok, rows, err := e.opt.DB.CommitTriggerEvaluation(ctx, st, notify.Rows(event.EnvID(w.env), EventName(t.ID), items))
	if err != nil || !ok {
		return false, err
	}
	if status != "" {
		e.log.Info("triggers: "+strings.ToLower(status), "env", w.env, "trigger", t.ID, "name", t.Name,
			"groups_triggered", len(trig), "recipients", len(items))
	}
	d.Dispatch(EventName(t.ID), items, rows)
	return true, nil
}

func (w due) prevGroups() string {
	if w.prev == nil {
		return "{}"
	}
	return w.prev.Groups
}

// render resolves the trigger's recipients and renders one payload each. A
// recipient that is gone or cannot be rendered is logged and skipped.
func (e *Engine) render(ctx context.Context, d *notify.Deliverer, env int64, a *Alert) []notify.Addressed {
	var items []notify.Addressed
	seen := map[int64]bool{}
	for _, tr := range a.Trigger.Recipients {
		id, ok := notify.ParseRecipientID(tr.ID)
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		r, err := d.Recipient(ctx, event.EnvID(env), id)
		if err != nil {
			e.log.Warn("triggers: recipient", "trigger", a.Trigger.ID, "recipient", tr.ID, "err", err)
			continue
		}
		p, err := a.Render(r, tr.Details)
		if err != nil {
			e.log.Warn("triggers: render payload", "trigger", a.Trigger.ID, "recipient", tr.ID, "err", err)
			continue
		}
		items = append(items, notify.Addressed{Recipient: r, Payload: p, Summary: a.Summary()})
	}
	return items
}

// result is one group's value.
type result struct {
	Group  map[string]any
	Result float64
}

// results runs the trigger's query ending now, and with a baseline, the
// same query offset back, and returns the value per group that the
// threshold judges.
func (e *Engine) results(ctx context.Context, env int64, t *Trigger, now time.Time) ([]result, error) {
	cur, err := e.run(ctx, env, t, now)
	if err != nil {
		return nil, err
	}
	b := t.BaselineDetails
	if b == nil {
		return cur, nil
	}
	base, err := e.run(ctx, env, t, now.Add(-time.Duration(b.OffsetMinutes)*time.Minute))
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	bv := map[string]float64{}
	for _, r := range base {
		bv[groupKey(r.Group)] = r.Result
	}
	out := cur[:0]
	for _, r := range cur {
		old, ok := bv[groupKey(r.Group)]
		switch {
		case b.Type == "value":
			r.Result -= old
		case !ok || old == 0:
			continue // no baseline to compare a percentage with
		default:
			r.Result = (r.Result - old) / math.Abs(old) * 100
		}
		out = append(out, r)
	}
	return out, nil
}

// run runs the trigger's query once.
func (e *Engine) run(ctx context.Context, env int64, t *Trigger, now time.Time) ([]result, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opt.QueryTimeout)
	defer cancel()
	out, err := e.opt.Query.Run(ctx, event.EnvID(env), []string{t.DatasetSlug}, t.Query, query.Options{
		DisableSeries: true, DisableTotalByAggregate: true, DisableOtherByAggregate: true,
		Limit: query.MaxLimitNoSeries, Now: now,
	})
	if err != nil {
		return nil, err
	}
	label := t.Label()
	var rs []result
	for _, row := range out.Results {
		v, ok := number(row.Data[label])
		if !ok {
			continue
		}
		g := map[string]any{}
		for _, b := range t.Query.Breakdowns {
			g[b] = row.Data[b]
		}
		rs = append(rs, result{Group: g, Result: v})
	}
	// No events: a count is zero, so "COUNT < 1" can fire on silence.
	if len(rs) == 0 && len(t.Query.Breakdowns) == 0 {
		switch strings.ToUpper(t.Query.Calculations[0].Op) {
		case "COUNT", "SUM", "COUNT_DISTINCT":
			rs = append(rs, result{Group: map[string]any{}, Result: 0})
		}
	}
	return rs, nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func exceeds(op string, v, th float64) bool {
	switch op {
	case ">":
		return v > th
	case ">=":
		return v >= th
	case "<":
		return v < th
	case "<=":
		return v <= th
	}
	return false
}

// groupKey identifies a group across evaluations.
func groupKey(g map[string]any) string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v, _ := json.Marshal(g[k])
		b.WriteString(k)
		b.WriteByte('=')
		b.Write(v)
		b.WriteByte(';')
	}
	return b.String()
}

// inSchedule reports whether t evaluates at now (its weekly window, UTC).
func inSchedule(t *Trigger, now time.Time) bool {
	if t.EvaluationScheduleType != "window" || t.EvaluationSchedule == nil {
		return true
	}
	w := t.EvaluationSchedule.Window
	day := strings.ToLower(now.Weekday().String())
	ok := false
	for _, d := range w.DaysOfWeek {
		ok = ok || d == day
	}
	if !ok {
		return false
	}
	hm := now.Format("15:04")
	if w.StartTime <= w.EndTime {
		return hm >= w.StartTime && hm < w.EndTime
	}
	return hm >= w.StartTime || hm < w.EndTime // window across midnight
}

func (e *Engine) envSlug(ctx context.Context, env int64) string {
	if m, err := e.opt.DB.Environment(ctx, env); err == nil {
		return m.Slug
	}
	return ""
}

func (e *Engine) triggerURL(t *Trigger) string {
	return strings.TrimRight(e.opt.BaseURL, "/") + "/1/triggers/" + url.PathEscape(t.DatasetSlug) + "/" + url.PathEscape(t.ID)
}

// resultURL is a query template link to the trigger's query.
func (e *Engine) resultURL(t *Trigger) string {
	spec, err := json.Marshal(t.Query)
	if err != nil {
		return ""
	}
	return strings.TrimRight(e.opt.BaseURL, "/") + "/datasets/" + url.PathEscape(t.DatasetSlug) + "?query=" + url.QueryEscape(string(spec))
}
