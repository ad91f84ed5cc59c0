package triggers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/notify"
)

// BurnAlertNotice is one notification of a burn alert: what every payload
// is rendered from.
type BurnAlertNotice struct {
	Alert       *BurnAlert
	SLO         *SLO
	Status      string
	Figures     BurnFigures
	Environment string
	SLOURL      string
	AlertURL    string
}

// BurnPayload is the default burn alert webhook payload (Honeycomb-like).
// budget_remaining is a percentage, as on /1/slos ?detailed.
type BurnPayload struct {
	Version                               string         `json:"version"`
	ID                                    string         `json:"id"`
	Name                                  string         `json:"name"`
	Type                                  string         `json:"type"`
	Status                                string         `json:"status"`
	Summary                               string         `json:"summary"`
	Description                           string         `json:"description"`
	BurnAlertURL                          string         `json:"burn_alert_url"`
	Environment                           string         `json:"environment"`
	SLO                                   BurnPayloadSLO `json:"slo"`
	BudgetRemaining                       float64        `json:"budget_remaining"`
	BurnRate                              *float64       `json:"burn_rate,omitempty"`
	ExhaustionMinutes                     *int           `json:"exhaustion_minutes,omitempty"`
	MinutesToExhaustion                   *float64       `json:"minutes_to_exhaustion,omitempty"`
	BudgetRateWindowMinutes               *int           `json:"budget_rate_window_minutes,omitempty"`
	BudgetRateDecreaseThresholdPerMillion *int           `json:"budget_rate_decrease_threshold_per_million,omitempty"`
	BudgetDecreasePerMillion              *float64       `json:"budget_decrease_per_million,omitempty"`
}

// BurnPayloadSLO is the SLO in a burn alert payload.
type BurnPayloadSLO struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	URL              string   `json:"url"`
	DatasetSlugs     []string `json:"dataset_slugs"`
	SLI              string   `json:"sli"`
	TargetPerMillion int      `json:"target_per_million"`
	TimePeriodDays   int      `json:"time_period_days"`
}

func round(f float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(f*p) / p
}

func (a *BurnAlertNotice) typeLabel() string {
	if a.Alert.AlertType == BurnBudgetRate {
		return "budget rate"
	}
	return "exhaustion time"
}

// Summary is "Triggered: <SLO> burn alert (exhaustion time)" or
// "Resolved: …".
func (a *BurnAlertNotice) Summary() string {
	s := a.SLO.Name + " burn alert (" + a.typeLabel() + ")"
	if a.Status == StatusTriggered {
		return "Triggered: " + s
	}
	return "Resolved: " + s
}

// fmtMinutes renders minutes as "3d 4h 5m", "2h 30m", "45m".
func fmtMinutes(m float64) string {
	if math.IsInf(m, 1) {
		return "never"
	}
	d := time.Duration(math.Round(max(m, 0))) * time.Minute
	days, h, min := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh %dm", days, h, min)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, min)
	}
	return fmt.Sprintf("%dm", min)
}

func perMillionPct(pm float64) string { return formatNum(round(pm/1e4, 2)) + "%" }

// Description says why.
func (a *BurnAlertNotice) Description() string {
	f, b := a.Figures, a.Alert
	rem := formatNum(round(f.BudgetRemaining*100, 2)) + "%"
	if b.AlertType == BurnBudgetRate {
		win, th := 0, 0
		if b.BudgetRateWindowMinutes != nil {
			win = *b.BudgetRateWindowMinutes
		}
		if b.BudgetRateDecreaseThresholdPerMillion != nil {
			th = *b.BudgetRateDecreaseThresholdPerMillion
		}
		verb := "dropped"
		if a.Status != StatusTriggered {
			verb = "no longer dropping as fast: it dropped"
		}
		return fmt.Sprintf("The error budget of %s %s by %s in the last %s (threshold %s); %s remains.",
			a.SLO.Name, verb, perMillionPct(f.DecreasePerMillion), fmtMinutes(float64(win)), perMillionPct(float64(th)), rem)
	}
	m := 0
	if b.ExhaustionMinutes != nil {
		m = *b.ExhaustionMinutes
	}
	switch {
	case a.Status != StatusTriggered:
		return fmt.Sprintf("The error budget of %s is no longer projected to run out within %s (at the burn rate of the last %s: %s); %s remains.",
			a.SLO.Name, fmtMinutes(float64(m)), fmtMinutes(BurnLookback.Minutes()), fmtMinutes(f.MinutesToExhaustion), rem)
	case f.BudgetRemaining <= 0:
		return fmt.Sprintf("The error budget of %s is exhausted (%s remains).", a.SLO.Name, rem)
	}
	return fmt.Sprintf("At the burn rate of the last %s (%s×), the error budget of %s runs out in %s (alert within %s); %s remains.",
		fmtMinutes(BurnLookback.Minutes()), formatNum(round(f.BurnRate, 2)), a.SLO.Name, fmtMinutes(f.MinutesToExhaustion), fmtMinutes(float64(m)), rem)
}

// Payload is the default webhook payload.
func (a *BurnAlertNotice) Payload() BurnPayload {
	f, b := a.Figures, a.Alert
	p := BurnPayload{
		Version: "v0.1.0", ID: b.ID, Name: a.SLO.Name, Type: b.AlertType, Status: a.Status,
		Summary: a.Summary(), Description: a.Description(), BurnAlertURL: a.AlertURL, Environment: a.Environment,
		SLO: BurnPayloadSLO{ID: a.SLO.ID, Name: a.SLO.Name, Description: a.SLO.Description, URL: a.SLOURL,
			DatasetSlugs: a.SLO.datasets(), SLI: a.SLO.SLI.Alias, TargetPerMillion: a.SLO.TargetPerMillion, TimePeriodDays: a.SLO.TimePeriodDays},
		BudgetRemaining: round(f.BudgetRemaining*100, 4),
	}
	if p.SLO.DatasetSlugs == nil {
		p.SLO.DatasetSlugs = []string{}
	}
	if b.AlertType == BurnBudgetRate {
		d := round(f.DecreasePerMillion, 2)
		p.BudgetRateWindowMinutes, p.BudgetRateDecreaseThresholdPerMillion, p.BudgetDecreasePerMillion = b.BudgetRateWindowMinutes, b.BudgetRateDecreaseThresholdPerMillion, &d
		return p
	}
	br := round(f.BurnRate, 4)
	p.BurnRate, p.ExhaustionMinutes = &br, b.ExhaustionMinutes
	if !math.IsInf(f.MinutesToExhaustion, 1) {
		m := round(f.MinutesToExhaustion, 1)
		p.MinutesToExhaustion = &m
	}
	return p
}

// Render returns the payload for one recipient: the webhook JSON (or the
// recipient's exhaustion_time / budget_rate template), a Slack message, a
// Teams card, a mail or a PagerDuty event.
func (a *BurnAlertNotice) Render(r notify.Recipient, details *TriggerRecipientDetails) ([]byte, error) {
	var d RecipientDetails
	_ = json.Unmarshal([]byte(r.Config["details"]), &d)
	switch r.Kind {
	case notify.KindSlack:
		return json.Marshal(a.slack(d.SlackChannel))
	case notify.KindMSTeamsWorkflow:
		return json.Marshal(a.teams())
	case notify.KindEmail:
		return json.Marshal(a.email())
	case notify.KindPagerDuty:
		return json.Marshal(a.pagerDuty(d.PagerDutyIntegrationKey, details))
	default:
		if p := d.WebhookPayloads; p != nil {
			if t, ok := p.PayloadTemplates[a.Alert.AlertType]; ok && strings.TrimSpace(t.Body) != "" {
				return a.template(t.Body, p.TemplateVariables, details)
			}
		}
		return json.Marshal(a.Payload())
	}
}

// template renders a custom payload: .Name .ID .Type .Description .URL
// .Environment .Datasets .Status .BudgetRemaining .SLO.{ID,Name,URL,…}
// .Alert.Summary .Alert.Status and .Vars.<name>.
func (a *BurnAlertNotice) template(body string, vars []TemplateVariable, details *TriggerRecipientDetails) ([]byte, error) {
	t, err := parseTemplate(body)
	if err != nil {
		return nil, err
	}
	vs := map[string]string{}
	for _, v := range vars {
		vs[v.Name] = v.DefaultValue
	}
	if details != nil {
		for _, v := range details.Variables {
			vs[v.Name] = v.Value
		}
	}
	p := a.Payload()
	data := map[string]any{
		"Name": p.Name, "ID": p.ID, "Type": p.Type, "Description": p.Description, "URL": p.BurnAlertURL,
		"Environment": a.Environment, "Datasets": p.SLO.DatasetSlugs, "Status": p.Status,
		"BudgetRemaining": p.BudgetRemaining,
		"SLO": map[string]any{"ID": p.SLO.ID, "Name": p.SLO.Name, "Description": p.SLO.Description, "URL": p.SLO.URL,
			"TargetPerMillion": p.SLO.TargetPerMillion, "TimePeriodDays": p.SLO.TimePeriodDays},
		"Alert": map[string]any{"Summary": p.Summary, "Status": p.Status},
		"Vars":  vs,
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("payload template: %w", err)
	}
	return b.Bytes(), nil
}

func (a *BurnAlertNotice) color() string {
	if a.Status == StatusTriggered {
		return colorTriggered
	}
	return colorOK
}

func (a *BurnAlertNotice) fields() [][2]string {
	f := [][2]string{
		{"Status", a.Status},
		{"Budget remaining", formatNum(round(a.Figures.BudgetRemaining*100, 2)) + "%"},
	}
	if a.Alert.AlertType == BurnBudgetRate {
		f = append(f, [2]string{"Budget decrease", perMillionPct(a.Figures.DecreasePerMillion)})
	} else {
		f = append(f, [2]string{"Exhaustion in", fmtMinutes(a.Figures.MinutesToExhaustion)})
	}
	return append(f, [2]string{"SLO", a.SLO.Name}, [2]string{"Environment", a.Environment})
}

// slack has the shape of the triggers' Slack message.
func (a *BurnAlertNotice) slack(channel string) map[string]any {
	var fields []map[string]any
	for _, f := range a.fields() {
		fields = append(fields, map[string]any{"type": "mrkdwn", "text": "*" + f[0] + "*\n" + escSlack(f[1])})
	}
	blocks := []map[string]any{
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": fmt.Sprintf("*<%s|%s>*\n%s", a.SLOURL, escSlack(a.Summary()), escSlack(a.Description()))}},
		{"type": "section", "fields": fields},
	}
	return slackMessage(a.Summary(), a.Description(), a.color(), blocks, channel)
}

func (a *BurnAlertNotice) teams() map[string]any {
	return teamsCard(a.Summary(), a.Description(), a.Status == StatusTriggered, "Open SLO", a.SLOURL)
}

func (a *BurnAlertNotice) email() notify.EmailMessage {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n\n", a.Summary(), a.Description())
	for _, f := range a.fields() {
		fmt.Fprintf(&b, "%-17s %s\n", f[0]+":", f[1])
	}
	fmt.Fprintf(&b, "\nSLO:        %s\nBurn alert: %s\n", a.SLOURL, a.AlertURL)
	return notify.EmailMessage{Subject: "[waggle] " + a.Summary(), Text: b.String()}
}

// DedupKey is the PagerDuty incident key: one incident per burn alert.
func (a *BurnAlertNotice) DedupKey() string { return "waggle-burn-alert-" + a.Alert.ID }

func (a *BurnAlertNotice) pagerDuty(routingKey string, details *TriggerRecipientDetails) map[string]any {
	ev := map[string]any{"routing_key": routingKey, "dedup_key": a.DedupKey()}
	if a.Status != StatusTriggered {
		ev["event_action"] = "resolve"
		return ev
	}
	sev := "critical"
	if details != nil && details.PagerDutySeverity != "" {
		sev = details.PagerDutySeverity
	}
	ds := strings.Join(a.SLO.datasets(), ",")
	p := a.Payload()
	ev["event_action"] = "trigger"
	ev["client"] = "waggle"
	ev["client_url"] = a.SLOURL
	ev["links"] = []map[string]string{{"href": a.SLOURL, "text": "SLO"}}
	ev["payload"] = map[string]any{
		"summary": truncate(a.Summary()+": "+a.Description(), 1024), "source": "waggle/" + a.Environment + "/" + ds,
		"severity": sev, "component": ds, "class": "burn_alert:" + a.Alert.AlertType,
		"custom_details": map[string]any{"burn_alert_id": a.Alert.ID, "slo_id": a.SLO.ID, "budget_remaining": p.BudgetRemaining,
			"minutes_to_exhaustion": p.MinutesToExhaustion, "budget_decrease_per_million": p.BudgetDecreasePerMillion},
	}
	return ev
}
