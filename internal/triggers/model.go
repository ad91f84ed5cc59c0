// Package triggers is waggle's trigger engine and the model of Honeycomb's
// triggers: a trigger is a query with one calculation, a threshold and a
// frequency. The engine runs every enabled trigger once per interval of its
// frequency through the query engine, keeps each trigger's state (per
// result group) in the metadata database, and notifies the trigger's
// recipients through internal/notify when the state changes (on_change) or
// on every triggered run (on_true).
//
// Exactly one evaluation per interval: one node evaluates (it holds the
// "triggers" lease), and the evaluation of an interval is recorded together
// with the deliveries it causes in one compare-and-set transaction
// (meta.DB.CommitTriggerEvaluation). A second node, or a restarted node,
// that evaluates the same interval loses the compare-and-set and sends
// nothing; a crash after the commit leaves the deliveries pending in the
// delivery log, and the notify.Deliverer resumes them.
package triggers

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/waggle-hq/waggle/internal/query"
)

// Limits and defaults of triggers (Honeycomb's).
const (
	MinFrequency     = 60
	MaxFrequency     = 86400
	DefaultFrequency = 900
	MaxNameLen       = 120
	MaxDescription   = 1023
	MaxTags          = 10
	MaxRecipients    = 100
	MaxExceeded      = 5
)

// AlertOnChange and AlertOnTrue are the alert types.
const (
	AlertOnChange = "on_change"
	AlertOnTrue   = "on_true"
)

// Trigger is Honeycomb's trigger object.
type Trigger struct {
	ID          string `json:"id"`
	DatasetSlug string `json:"dataset_slug"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Tags        []Tag  `json:"tags"`
	Disabled    bool   `json:"disabled"`
	// Triggered is read-only: the engine's current state.
	Triggered bool        `json:"triggered"`
	Query     *query.Spec `json:"query,omitempty"`
	QueryID   string      `json:"query_id,omitempty"`
	Threshold Threshold   `json:"threshold"`
	Frequency int64       `json:"frequency"`
	AlertType string      `json:"alert_type"`
	// EvaluationScheduleType is "frequency" (always) or "window".
	EvaluationScheduleType string              `json:"evaluation_schedule_type,omitempty"`
	EvaluationSchedule     *EvaluationSchedule `json:"evaluation_schedule,omitempty"`
	BaselineDetails        *BaselineDetails    `json:"baseline_details,omitempty"`
	Recipients             []TriggerRecipient  `json:"recipients"`
	AutoInvestigate        bool                `json:"auto_investigate,omitempty"`
	CreatedAt              string              `json:"created_at,omitempty"`
	UpdatedAt              string              `json:"updated_at,omitempty"`
}

// Tag is a key/value label of a trigger or board.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Threshold is when a trigger fires: the calculation's value compared by Op
// to Value, ExceededLimit evaluations in a row.
type Threshold struct {
	Op            string   `json:"op"`
	Value         *float64 `json:"value"`
	ExceededLimit int      `json:"exceeded_limit,omitempty"`
}

// EvaluationSchedule restricts evaluation to a weekly window (UTC).
type EvaluationSchedule struct {
	Window struct {
		DaysOfWeek []string `json:"days_of_week"`
		StartTime  string   `json:"start_time"`
		EndTime    string   `json:"end_time"`
	} `json:"window"`
}

// BaselineDetails compares the value with the same query offset_minutes ago:
// the difference ("value") or the relative change in percent ("percentage")
// is what the threshold judges.
type BaselineDetails struct {
	Type          string `json:"type,omitempty"`
	OffsetMinutes int    `json:"offset_minutes,omitempty"`
}

// TriggerRecipient is a recipient of a trigger: by id, or by type and
// target (deprecated, resolved to an existing recipient).
type TriggerRecipient struct {
	ID      string                   `json:"id,omitempty"`
	Type    string                   `json:"type,omitempty"`
	Target  string                   `json:"target,omitempty"`
	Details *TriggerRecipientDetails `json:"details,omitempty"`
}

// TriggerRecipientDetails are per-trigger settings of a recipient.
type TriggerRecipientDetails struct {
	PagerDutySeverity string     `json:"pagerduty_severity,omitempty"`
	Variables         []Variable `json:"variables,omitempty"`
}

// Variable is a value of a webhook payload template variable.
type Variable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// InvalidError is a trigger that breaks a rule; the API answers 400/422
// with its message.
type InvalidError struct {
	Field string
	Msg   string
}

func (e *InvalidError) Error() string { return e.Msg }

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

var (
	tagKeyRe   = regexp.MustCompile(`^[a-z]{1,32}$`)
	tagValueRe = regexp.MustCompile(`^[a-z][a-z0-9/-]{1,128}$`)
	hhmmRe     = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	weekdays   = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
)

// ValidateTags checks Honeycomb's tag rules.
func ValidateTags(tags []Tag) error {
	if len(tags) > MaxTags {
		return invalid("tags", "at most %d tags are allowed", MaxTags)
	}
	for _, t := range tags {
		if !tagKeyRe.MatchString(t.Key) {
			return invalid("tags", "tag key %.40q must be 1 to 32 lowercase letters", t.Key)
		}
		if !tagValueRe.MatchString(t.Value) {
			return invalid("tags", "tag value %.40q must start with a lowercase letter and hold 2 to 129 lowercase letters, digits, '/' and '-'", t.Value)
		}
	}
	return nil
}

// Normalize fills in defaults and checks every rule of Honeycomb's trigger
// API that does not need the dataset's columns (the caller checks the query
// against them with query.Engine.Check). The query must be inline by now.
func (t *Trigger) Normalize() error {
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" || utf8.RuneCountInString(t.Name) > MaxNameLen {
		return invalid("name", "name is required and must be at most %d characters", MaxNameLen)
	}
	if utf8.RuneCountInString(t.Description) > MaxDescription {
		return invalid("description", "description must be at most %d characters", MaxDescription)
	}
	if err := ValidateTags(t.Tags); err != nil {
		return err
	}
	if t.Tags == nil {
		t.Tags = []Tag{}
	}
	if t.Frequency == 0 {
		t.Frequency = DefaultFrequency
	}
	if t.Frequency < MinFrequency || t.Frequency > MaxFrequency || t.Frequency%60 != 0 {
		return invalid("frequency", "frequency must be a multiple of 60 between %d and %d seconds", MinFrequency, MaxFrequency)
	}
	switch t.AlertType {
	case "":
		t.AlertType = AlertOnChange
	case AlertOnChange, AlertOnTrue:
	default:
		return invalid("alert_type", "alert_type must be on_change or on_true")
	}
	switch t.Threshold.Op {
	case ">", ">=", "<", "<=":
	case "":
		return invalid("threshold.op", "threshold.op is required")
	default:
		return invalid("threshold.op", "threshold.op must be one of >, >=, <, <=")
	}
	if t.Threshold.Value == nil {
		return invalid("threshold.value", "threshold.value is required")
	}
	if t.Threshold.ExceededLimit == 0 {
		t.Threshold.ExceededLimit = 1
	}
	if t.Threshold.ExceededLimit < 1 || t.Threshold.ExceededLimit > MaxExceeded {
		return invalid("threshold.exceeded_limit", "threshold.exceeded_limit must be between 1 and %d", MaxExceeded)
	}
	if err := t.normalizeSchedule(); err != nil {
		return err
	}
	if b := t.BaselineDetails; b != nil {
		switch {
		case b.Type == "" && b.OffsetMinutes == 0:
			t.BaselineDetails = nil // an empty object clears it
		case b.Type != "percentage" && b.Type != "value":
			return invalid("baseline_details.type", "baseline_details.type must be percentage or value")
		case b.OffsetMinutes != 60 && b.OffsetMinutes != 1440 && b.OffsetMinutes != 10080 && b.OffsetMinutes != 40320:
			return invalid("baseline_details.offset_minutes", "baseline_details.offset_minutes must be 60, 1440, 10080 or 40320")
		}
	}
	if len(t.Recipients) > MaxRecipients {
		return invalid("recipients", "at most %d recipients are allowed", MaxRecipients)
	}
	if t.Recipients == nil {
		t.Recipients = []TriggerRecipient{}
	}
	for _, r := range t.Recipients {
		if d := r.Details; d != nil && d.PagerDutySeverity != "" {
			switch d.PagerDutySeverity {
			case "critical", "error", "warning", "info":
			default:
				return invalid("recipients.details.pagerduty_severity", "pagerduty_severity must be critical, error, warning or info")
			}
		}
	}
	return t.normalizeQuery()
}

func (t *Trigger) normalizeSchedule() error {
	switch t.EvaluationScheduleType {
	case "", "frequency":
		if t.EvaluationScheduleType == "" && t.EvaluationSchedule != nil {
			t.EvaluationScheduleType = "window"
			return t.normalizeSchedule()
		}
		t.EvaluationScheduleType = "frequency"
		t.EvaluationSchedule = nil
		return nil
	case "window":
	default:
		return invalid("evaluation_schedule_type", "evaluation_schedule_type must be frequency or window")
	}
	s := t.EvaluationSchedule
	if s == nil || len(s.Window.DaysOfWeek) == 0 {
		return invalid("evaluation_schedule", "evaluation_schedule.window.days_of_week is required with evaluation_schedule_type window")
	}
	for i, d := range s.Window.DaysOfWeek {
		d = strings.ToLower(d)
		ok := false
		for _, w := range weekdays {
			ok = ok || d == w
		}
		if !ok {
			return invalid("evaluation_schedule", "%.20q is not a day of the week", d)
		}
		s.Window.DaysOfWeek[i] = d
	}
	if !hhmmRe.MatchString(s.Window.StartTime) || !hhmmRe.MatchString(s.Window.EndTime) {
		return invalid("evaluation_schedule", "evaluation_schedule.window start_time and end_time must be HH:mm (UTC)")
	}
	return nil
}

// normalizeQuery applies the trigger query rules: one calculation (not
// HEATMAP or CONCURRENCY), at most one having, no orders, limit, absolute
// times, usage mode or granularity, and a time range between the frequency
// and min(4 × frequency, 1 day) (default: the frequency).
func (t *Trigger) normalizeQuery() error {
	q := t.Query
	if q == nil {
		return invalid("query", "query (or query_id) is required")
	}
	if len(q.Formulas) > 0 || len(q.CalculatedFields) > 0 {
		return invalid("query", "trigger queries with formulas or calculated fields are not supported")
	}
	if len(q.Calculations) == 0 {
		q.Calculations = []query.Calculation{{Op: "COUNT"}}
	}
	if len(q.Calculations) != 1 {
		return invalid("query.calculations", "a trigger query must have exactly one calculation")
	}
	switch strings.ToUpper(q.Calculations[0].Op) {
	case "HEATMAP", "CONCURRENCY":
		return invalid("query.calculations", "a trigger query cannot use %s", strings.ToUpper(q.Calculations[0].Op))
	}
	if len(q.Havings) > 1 {
		return invalid("query.havings", "a trigger query may have at most one having")
	}
	switch {
	case len(q.Orders) > 0:
		return invalid("query.orders", "a trigger query cannot have orders")
	case q.Limit != nil:
		return invalid("query.limit", "a trigger query cannot have a limit")
	case q.StartTime != nil || q.EndTime != nil:
		return invalid("query.time_range", "a trigger query cannot have start_time or end_time")
	case q.UsageMode:
		return invalid("query.usage_mode", "a trigger query cannot use usage_mode")
	case q.Granularity != nil:
		return invalid("query.granularity", "granularity is only allowed on metrics datasets")
	case q.CompareTimeOffsetSeconds != nil:
		return invalid("query.compare_time_offset_seconds", "a trigger query cannot compare time offsets")
	}
	if q.TimeRange == nil {
		tr := t.Frequency
		q.TimeRange = &tr
	}
	maxRange := min(4*t.Frequency, MaxFrequency)
	if *q.TimeRange < t.Frequency || *q.TimeRange > maxRange {
		return invalid("query.time_range", "query.time_range must be between the frequency (%d) and %d seconds", t.Frequency, maxRange)
	}
	if err := q.Validate(); err != nil {
		return err
	}
	return nil
}

// Label is the result key of the trigger's calculation.
func (t *Trigger) Label() string {
	if t.Query == nil {
		return ""
	}
	l := t.Query.Labels()
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

// ParseTrigger decodes a trigger body; read-only fields are ignored. The
// inline query is parsed as a query specification (unknown fields are
// errors there, as on /1/queries).
func ParseTrigger(body []byte) (*Trigger, error) {
	var w struct {
		Trigger
		Query json.RawMessage `json:"query"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, invalid("", "request body is not a valid trigger: %v", err)
	}
	t := w.Trigger
	t.Triggered, t.CreatedAt, t.UpdatedAt = false, "", ""
	if len(w.Query) > 0 && string(w.Query) != "null" {
		spec, err := query.ParseSpec(w.Query)
		if err != nil {
			return nil, err
		}
		t.Query = spec
	}
	return &t, nil
}
