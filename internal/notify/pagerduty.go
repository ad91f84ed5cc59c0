package notify

import "context"

// PagerDutyEventsURL is PagerDuty's Events API v2 endpoint, the default
// target of PagerDuty recipients.
const PagerDutyEventsURL = "https://events.pagerduty.com/v2/enqueue"

// PagerDutySender POSTs the delivery's payload, an Events API v2 event
// ({"routing_key","event_action","dedup_key","payload":{…}}), to the
// recipient's Target URL (PagerDutyEventsURL when empty). PagerDuty answers
// 202; 400 (invalid event) is permanent, 429 and 5xx are retried.
type PagerDutySender struct {
	Webhook WebhookSender
}

// Send implements Sender.
func (s *PagerDutySender) Send(ctx context.Context, d Delivery) (Result, error) {
	if d.Recipient.Target == "" {
		d.Recipient.Target = PagerDutyEventsURL
	}
	d.Recipient.Config = nil
	return s.Webhook.Send(ctx, d)
}
