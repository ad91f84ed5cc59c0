package triggers

import (
	"encoding/json"
	"net/textproto"
	"strings"
	"text/template"

	"github.com/waggle-hq/waggle/internal/notify"
)

// Source is the notify source of Honeycomb recipients.
const Source = "honeycomb"

// TokenHeader carries a webhook recipient's secret, as Honeycomb's does.
const TokenHeader = "X-Honeycomb-Webhook-Token"

// Limits of webhook customisation (Honeycomb's).
const (
	MaxWebhookHeaders = 5
	MaxTemplateBytes  = 64 << 10
)

// Recipient is Honeycomb's recipient object.
type Recipient struct {
	ID        string           `json:"id"`
	Type      string           `json:"type"`
	Details   RecipientDetails `json:"details"`
	CreatedAt string           `json:"created_at,omitempty"`
	UpdatedAt string           `json:"updated_at,omitempty"`
}

// RecipientDetails holds every type's details; each type uses its own.
// slack_webhook_url and pagerduty_url are waggle's: Slack messages go to a
// Slack-compatible incoming webhook, PagerDuty events to the Events API v2
// URL (PagerDuty's by default).
type RecipientDetails struct {
	EmailAddress             string           `json:"email_address,omitempty"`
	PagerDutyIntegrationKey  string           `json:"pagerduty_integration_key,omitempty"`
	PagerDutyIntegrationName string           `json:"pagerduty_integration_name,omitempty"`
	PagerDutyURL             string           `json:"pagerduty_url,omitempty"`
	SlackChannel             string           `json:"slack_channel,omitempty"`
	SlackWebhookURL          string           `json:"slack_webhook_url,omitempty"`
	WebhookName              string           `json:"webhook_name,omitempty"`
	WebhookURL               string           `json:"webhook_url,omitempty"`
	WebhookSecret            string           `json:"webhook_secret,omitempty"`
	WebhookHeaders           []WebhookHeader  `json:"webhook_headers,omitempty"`
	WebhookPayloads          *WebhookPayloads `json:"webhook_payloads,omitempty"`
}

// WebhookHeader is a custom header of a webhook recipient.
type WebhookHeader struct {
	Header string `json:"header"`
	Value  string `json:"value"`
}

// WebhookPayloads are a webhook's custom payload templates (Go templates)
// and their variables.
type WebhookPayloads struct {
	PayloadTemplates  map[string]PayloadTemplate `json:"payload_templates,omitempty"`
	TemplateVariables []TemplateVariable         `json:"template_variables,omitempty"`
}

// PayloadTemplate is one template; its body renders to the request body.
type PayloadTemplate struct {
	Body string `json:"body"`
}

// TemplateVariable is a template variable with its default.
type TemplateVariable struct {
	Name         string `json:"name"`
	DefaultValue string `json:"default_value"`
}

// ToNotify validates r and converts it to a notify recipient of env (ID
// and environment are filled by the caller).
func (r *Recipient) ToNotify() (notify.Recipient, error) {
	d := r.Details
	n := notify.Recipient{Source: Source, Kind: notify.Kind(r.Type), Enabled: true, Config: map[string]string{}}
	switch r.Type {
	case "webhook", "msteams_workflow":
		if d.WebhookURL == "" {
			return n, invalid("details.webhook_url", "details.webhook_url is required")
		}
		if err := notify.CheckURL(d.WebhookURL); err != nil {
			return n, invalid("details.webhook_url", "details.webhook_url: %v", err)
		}
		n.Name, n.Target = d.WebhookName, d.WebhookURL
		if r.Type == "webhook" {
			if err := checkWebhookExtras(d); err != nil {
				return n, err
			}
			if d.WebhookSecret != "" {
				n.Config["header:"+TokenHeader] = d.WebhookSecret
			}
			for _, h := range d.WebhookHeaders {
				n.Config["header:"+textproto.CanonicalMIMEHeaderKey(h.Header)] = h.Value
			}
		}
	case "slack":
		u := d.SlackWebhookURL
		if u == "" && strings.HasPrefix(d.SlackChannel, "http") {
			u = d.SlackChannel
		}
		if u == "" {
			return n, invalid("details.slack_webhook_url", "details.slack_webhook_url (a Slack incoming webhook URL) is required")
		}
		if err := notify.CheckURL(u); err != nil {
			return n, invalid("details.slack_webhook_url", "details.slack_webhook_url: %v", err)
		}
		n.Name, n.Target = d.SlackChannel, u
	case "email":
		if err := notify.CheckEmail(d.EmailAddress); err != nil {
			return n, invalid("details.email_address", "details.email_address: %v", err)
		}
		n.Name, n.Target = d.EmailAddress, d.EmailAddress
	case "pagerduty":
		if d.PagerDutyIntegrationKey == "" || len(d.PagerDutyIntegrationKey) > 128 {
			return n, invalid("details.pagerduty_integration_key", "details.pagerduty_integration_key is required")
		}
		n.Target = notify.PagerDutyEventsURL
		if d.PagerDutyURL != "" {
			if err := notify.CheckURL(d.PagerDutyURL); err != nil {
				return n, invalid("details.pagerduty_url", "details.pagerduty_url: %v", err)
			}
			n.Target = d.PagerDutyURL
		}
		n.Name = d.PagerDutyIntegrationName
	case "":
		return n, invalid("type", "type is required")
	default:
		return n, invalid("type", "type must be one of webhook, slack, email, pagerduty, msteams_workflow")
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return n, invalid("details", "details: %v", err)
	}
	n.Config["details"] = string(raw)
	return n, nil
}

func checkWebhookExtras(d RecipientDetails) error {
	if len(d.WebhookHeaders) > MaxWebhookHeaders {
		return invalid("details.webhook_headers", "at most %d webhook headers are allowed", MaxWebhookHeaders)
	}
	for _, h := range d.WebhookHeaders {
		name := textproto.CanonicalMIMEHeaderKey(h.Header)
		switch {
		case h.Header == "" || strings.ContainsAny(h.Header, " :\r\n\t") || strings.ContainsAny(h.Value, "\r\n"):
			return invalid("details.webhook_headers", "webhook header %.40q is not a valid header", h.Header)
		case name == "Content-Type" || name == "User-Agent" || name == TokenHeader:
			return invalid("details.webhook_headers", "webhook header %s is reserved", name)
		}
	}
	if p := d.WebhookPayloads; p != nil {
		for kind, t := range p.PayloadTemplates {
			if kind != "trigger" && kind != "exhaustion_time" && kind != "budget_rate" {
				return invalid("details.webhook_payloads", "payload template type %.30q must be trigger, exhaustion_time or budget_rate", kind)
			}
			if len(t.Body) > MaxTemplateBytes {
				return invalid("details.webhook_payloads", "payload template is larger than %d bytes", MaxTemplateBytes)
			}
			if _, err := parseTemplate(t.Body); err != nil {
				return invalid("details.webhook_payloads", "payload template %s: %v", kind, err)
			}
		}
		for _, v := range p.TemplateVariables {
			if v.Name == "" || strings.ContainsAny(v.Name, " .{}") {
				return invalid("details.webhook_payloads", "template variable name %.40q is not valid", v.Name)
			}
		}
	}
	return nil
}

// RecipientOf converts a stored notify recipient back to Honeycomb's shape.
func RecipientOf(n notify.Recipient) Recipient {
	r := Recipient{ID: formatID(n.ID), Type: string(n.Kind)}
	_ = json.Unmarshal([]byte(n.Config["details"]), &r.Details)
	if !n.CreatedAt.IsZero() {
		r.CreatedAt = n.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")
	}
	r.UpdatedAt = r.CreatedAt
	return r
}

func formatID(id int64) string { return jsonInt(id) }

func jsonInt(i int64) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// template funcs available to payload templates.
var templateFuncs = template.FuncMap{
	"toJson": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
}

func parseTemplate(body string) (*template.Template, error) {
	return template.New("payload").Funcs(templateFuncs).Option("missingkey=zero").Parse(body)
}
