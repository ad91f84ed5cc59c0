package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// WebhookSender POSTs a delivery's payload as JSON to the recipient's URL.
// 2xx is success; 408, 429 and 5xx and network errors are retried; any
// other status is a permanent failure. Config keys "header:<Name>" add
// request headers (e.g. an authorization header the receiver checks).
type WebhookSender struct {
	// Client defaults to a client that does not follow redirects.
	Client *http.Client
}

var defaultWebhookClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// Send implements Sender.
func (s *WebhookSender) Send(ctx context.Context, d Delivery) (Result, error) {
	c := s.Client
	if c == nil {
		c = defaultWebhookClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Recipient.Target, bytes.NewReader(d.Payload))
	if err != nil {
		return Result{Permanent: true}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "waggle-webhook/1")
	for k, v := range d.Recipient.Config {
		if name, ok := strings.CutPrefix(k, "header:"); ok && name != "" {
			req.Header.Set(name, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return Result{}, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	res := Result{Status: resp.StatusCode}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return res, nil
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return res, fmt.Errorf("webhook answered %d", resp.StatusCode)
	default:
		res.Permanent = true
		return res, fmt.Errorf("webhook answered %d", resp.StatusCode)
	}
}
