package notify

import "context"

// More recipient kinds. Their payloads are rendered by the feature that
// notifies (e.g. internal/triggers renders Slack blocks, PagerDuty events,
// mail), so the senders only carry them.
const (
	// KindSlack POSTs a Slack message (blocks/attachments JSON) to a
	// Slack-compatible incoming webhook URL.
	KindSlack Kind = "slack"
	// KindMSTeamsWorkflow POSTs a message to a Microsoft Teams workflow
	// (Power Automate) webhook URL.
	KindMSTeamsWorkflow Kind = "msteams_workflow"
	// KindPagerDuty POSTs a PagerDuty Events API v2 event to the events URL
	// (PagerDuty's by default).
	KindPagerDuty Kind = "pagerduty"
	// KindEmail mails the payload ({"subject","text"}) through SMTP.
	KindEmail Kind = "email"
)

// SlackSender POSTs the delivery's payload, a Slack message, to the
// recipient's incoming webhook URL (Target). Slack answers 200 "ok"; 4xx
// other than 408/429 are permanent ("invalid_payload", "no_service"), 5xx
// and network errors are retried.
type SlackSender struct {
	// Webhook does the HTTP; its zero value is fine.
	Webhook WebhookSender
}

// Send implements Sender.
func (s *SlackSender) Send(ctx context.Context, d Delivery) (Result, error) {
	d.Recipient.Config = nil // no custom headers on chat webhooks
	return s.Webhook.Send(ctx, d)
}
