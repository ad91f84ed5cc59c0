package triggers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/waggle-hq/waggle/internal/notify"
)

// Statuses of a notification.
const (
	StatusTriggered = "TRIGGERED"
	StatusOK        = "OK"
)

// GroupResult is one result group and its value, as Honeycomb's webhook
// payload shows it.
type GroupResult struct {
	Group  map[string]any `json:"Group"`
	Result float64        `json:"Result"`
}

// Alert is one notification of a trigger: what every payload is rendered
// from.
type Alert struct {
	Trigger     *Trigger
	Environment string
	Status      string
	TriggerURL  string
	ResultURL   string
	// Groups are every result group of the evaluation, GroupsTriggered the
	// ones that are triggered.
	Groups          []GroupResult
	GroupsTriggered []GroupResult
}

// Payload is Honeycomb's default trigger webhook payload.
type Payload struct {
	Version               string        `json:"version"`
	ID                    string        `json:"id"`
	Name                  string        `json:"name"`
	TriggerURL            string        `json:"trigger_url"`
	Status                string        `json:"status"`
	Summary               string        `json:"summary"`
	Description           string        `json:"description"`
	Operator              string        `json:"operator"`
	Threshold             float64       `json:"threshold"`
	ResultURL             string        `json:"result_url"`
	ResultGroups          []GroupResult `json:"result_groups"`
	ResultGroupsTriggered []GroupResult `json:"result_groups_triggered"`
}

var operatorNames = map[string]string{
	">": "greater than", ">=": "greater than or equal to", "<": "less than", "<=": "less than or equal to",
}

// Summary is "Triggered: name" or "Resolved: name".
func (a *Alert) Summary() string {
	if a.Status == StatusTriggered {
		return "Triggered: " + a.Trigger.Name
	}
	return "Resolved: " + a.Trigger.Name
}

// Description says why, as Honeycomb does: "Currently greater than threshold
// value (2) for foo:bar (value 5)".
func (a *Alert) Description() string {
	op := operatorNames[a.Trigger.Threshold.Op]
	th := formatNum(*a.Trigger.Threshold.Value)
	if a.Status != StatusTriggered {
		return fmt.Sprintf("No longer %s threshold value (%s)", op, th)
	}
	var parts []string
	for i, g := range a.GroupsTriggered {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(a.GroupsTriggered)-5))
			break
		}
		if k := groupLabel(g.Group); k != "" {
			parts = append(parts, fmt.Sprintf("%s (value %s)", k, formatNum(g.Result)))
		} else {
			parts = append(parts, fmt.Sprintf("value %s", formatNum(g.Result)))
		}
	}
	return fmt.Sprintf("Currently %s threshold value (%s) for %s", op, th, strings.Join(parts, ", "))
}

// Payload is the default webhook payload.
func (a *Alert) Payload() Payload {
	groups, trig := a.Groups, a.GroupsTriggered
	if groups == nil {
		groups = []GroupResult{}
	}
	if trig == nil {
		trig = []GroupResult{}
	}
	return Payload{
		Version: "v0.1.0", ID: a.Trigger.ID, Name: a.Trigger.Name, TriggerURL: a.TriggerURL,
		Status: a.Status, Summary: a.Summary(), Description: a.Description(),
		Operator: operatorNames[a.Trigger.Threshold.Op], Threshold: *a.Trigger.Threshold.Value,
		ResultURL: a.ResultURL, ResultGroups: groups, ResultGroupsTriggered: trig,
	}
}

// Render returns the payload for one recipient of the alert's trigger:
// Honeycomb's webhook JSON (or the recipient's template), a Slack message,
// a Teams card, a mail, or a PagerDuty event. details are the trigger's
// settings for this recipient (may be nil).
func (a *Alert) Render(r notify.Recipient, details *TriggerRecipientDetails) ([]byte, error) {
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
			if t, ok := p.PayloadTemplates["trigger"]; ok && strings.TrimSpace(t.Body) != "" {
				return a.template(t.Body, p.TemplateVariables, details)
			}
		}
		return json.Marshal(a.Payload())
	}
}

// template renders a custom payload with Honeycomb's variables: .Name .ID
// .Description .URL .Environment .Datasets .Operator .Threshold .Status
// .Result.URL .Result.Groups .Result.GroupsTriggered .Alert.Summary and
// .Vars.<name> (arrays through toJson).
func (a *Alert) template(body string, vars []TemplateVariable, details *TriggerRecipientDetails) ([]byte, error) {
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
		"Name": p.Name, "ID": p.ID, "Description": p.Description, "URL": p.TriggerURL,
		"Environment": a.Environment, "Datasets": []string{a.Trigger.DatasetSlug},
		"Operator": p.Operator, "Threshold": p.Threshold, "Status": p.Status,
		"Result": map[string]any{"URL": p.ResultURL, "Groups": p.ResultGroups, "GroupsTriggered": p.ResultGroupsTriggered},
		"Alert":  map[string]any{"Summary": p.Summary, "Status": p.Status},
		"Vars":   vs,
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("payload template: %w", err)
	}
	return b.Bytes(), nil
}

// Colours of chat messages.
const (
	colorTriggered = "#d6312c"
	colorOK        = "#36a64f"
)

func (a *Alert) color() string {
	if a.Status == StatusTriggered {
		return colorTriggered
	}
	return colorOK
}

// slack is a Slack incoming-webhook message: a text fallback and an
// attachment in the status colour holding Block Kit blocks.
func (a *Alert) slack(channel string) map[string]any {
	fields := []map[string]any{
		{"type": "mrkdwn", "text": "*Status*\n" + a.Status},
		{"type": "mrkdwn", "text": "*Threshold*\n" + a.Trigger.Threshold.Op + " " + formatNum(*a.Trigger.Threshold.Value)},
		{"type": "mrkdwn", "text": "*Dataset*\n" + a.Trigger.DatasetSlug},
		{"type": "mrkdwn", "text": "*Environment*\n" + a.Environment},
	}
	blocks := []map[string]any{
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": fmt.Sprintf("*<%s|%s>*\n%s", a.TriggerURL, escSlack(a.Summary()), escSlack(a.Description()))}},
		{"type": "section", "fields": fields},
	}
	if a.ResultURL != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []map[string]any{
			{"type": "button", "text": map[string]any{"type": "plain_text", "text": "View results"}, "url": a.ResultURL},
		}})
	}
	return slackMessage(a.Summary(), a.Description(), a.color(), blocks, channel)
}

// teams is a Teams workflow message carrying an Adaptive Card.
func (a *Alert) teams() map[string]any {
	return teamsCard(a.Summary(), a.Description(), a.Status == StatusTriggered, "Open trigger", a.TriggerURL)
}

// email is the mail of an alert.
func (a *Alert) email() notify.EmailMessage {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n\n", a.Summary(), a.Description())
	fmt.Fprintf(&b, "Trigger:     %s\nStatus:      %s\nEnvironment: %s\nDataset:     %s\nThreshold:   %s %s\n",
		a.Trigger.Name, a.Status, a.Environment, a.Trigger.DatasetSlug, a.Trigger.Threshold.Op, formatNum(*a.Trigger.Threshold.Value))
	if len(a.GroupsTriggered) > 0 {
		b.WriteString("\nTriggered groups:\n")
		for _, g := range a.GroupsTriggered {
			label := groupLabel(g.Group)
			if label == "" {
				label = "(all)"
			}
			fmt.Fprintf(&b, "  %s: %s\n", label, formatNum(g.Result))
		}
	}
	fmt.Fprintf(&b, "\nTrigger: %s\n", a.TriggerURL)
	if a.ResultURL != "" {
		fmt.Fprintf(&b, "Results: %s\n", a.ResultURL)
	}
	return notify.EmailMessage{Subject: "[waggle] " + a.Summary(), Text: b.String()}
}

// DedupKey is the PagerDuty incident key of a trigger: one incident per
// trigger, resolved by its OK.
func (a *Alert) DedupKey() string { return "waggle-trigger-" + a.Trigger.ID }

// pagerDuty is an Events API v2 event: trigger or resolve, keyed by the
// trigger.
func (a *Alert) pagerDuty(routingKey string, details *TriggerRecipientDetails) map[string]any {
	ev := map[string]any{"routing_key": routingKey, "dedup_key": a.DedupKey()}
	if a.Status != StatusTriggered {
		ev["event_action"] = "resolve"
		return ev
	}
	sev := "critical"
	if details != nil && details.PagerDutySeverity != "" {
		sev = details.PagerDutySeverity
	}
	ev["event_action"] = "trigger"
	ev["client"] = "waggle"
	ev["client_url"] = a.TriggerURL
	ev["links"] = []map[string]string{{"href": a.TriggerURL, "text": "Trigger"}}
	ev["payload"] = map[string]any{
		"summary": truncate(a.Summary()+": "+a.Description(), 1024), "source": "waggle/" + a.Environment + "/" + a.Trigger.DatasetSlug,
		"severity": sev, "component": a.Trigger.DatasetSlug, "class": "trigger",
		"custom_details": map[string]any{"trigger_id": a.Trigger.ID, "threshold": a.Trigger.Threshold.Op + " " + formatNum(*a.Trigger.Threshold.Value),
			"result_groups_triggered": a.GroupsTriggered},
	}
	return ev
}

// groupLabel renders a group as "col:value, col:value" in column order.
func groupLabel(g map[string]any) string {
	keys := make([]string, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%v", k, g[k])
	}
	return strings.Join(parts, ", ")
}

func formatNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func escSlack(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// slackMessage is the envelope of every Slack message: the summary as text
// and one coloured attachment carrying the blocks. channel overrides the
// webhook's channel unless it is a URL.
func slackMessage(summary, description, color string, blocks []map[string]any, channel string) map[string]any {
	msg := map[string]any{
		"text":        summary,
		"attachments": []map[string]any{{"color": color, "fallback": summary + ": " + description, "blocks": blocks}},
	}
	if channel != "" && !strings.HasPrefix(channel, "http") {
		msg["channel"] = channel
	}
	return msg
}

// teamsCard is a Teams workflow message carrying an Adaptive Card with the
// summary (red while triggered), the description and one link.
func teamsCard(summary, description string, triggered bool, linkTitle, url string) map[string]any {
	return map[string]any{
		"type": "message",
		"attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content": map[string]any{
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type":    "AdaptiveCard", "version": "1.4",
				"body": []map[string]any{
					{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": summary,
						"color": map[bool]string{true: "Attention", false: "Good"}[triggered]},
					{"type": "TextBlock", "wrap": true, "text": description},
				},
				"actions": []map[string]any{{"type": "Action.OpenUrl", "title": linkTitle, "url": url}},
			},
		}},
	}
}
