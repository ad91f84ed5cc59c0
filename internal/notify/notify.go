// Package notify delivers notifications to recipients (webhooks now; Slack,
// email and PagerDuty later, through the same Sender interface) with a
// persistent delivery log, retries with exponential backoff, a bounded
// timeout per attempt, and per-recipient isolation: every recipient has its
// own queue and worker, so one slow or failing recipient never delays
// another.
//
// A feature (Source, e.g. "rollbar") configures recipients for an
// environment and calls Deliverer.Notify with a Notification; the Deliverer
// records one pending delivery per interested recipient in the metadata
// database before returning, then delivers in the background. Pending
// deliveries survive a restart: Start resumes them.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// Kind is a kind of recipient.
type Kind string

// Recipient kinds.
const (
	// KindWebhook POSTs the notification's payload as JSON to a URL.
	KindWebhook Kind = "webhook"
)

// Delivery statuses in the log.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// ErrNotFound means the recipient does not exist in the environment.
var ErrNotFound = errors.New("not found")

// ErrInvalid means a recipient cannot be used as given.
var ErrInvalid = errors.New("invalid recipient")

// Recipient is where notifications of one source of one environment go.
type Recipient struct {
	ID     int64
	Env    event.EnvID
	Source string
	Kind   Kind
	Name   string
	// Target is the kind's address (a URL for webhooks).
	Target string
	// Config holds kind-specific settings (for webhooks: extra headers as
	// "header:<Name>" keys).
	Config map[string]string
	// Events are the event names wanted; empty means every event.
	Events    []string
	Enabled   bool
	CreatedAt time.Time
}

// Wants reports whether r takes notifications named eventName.
func (r Recipient) Wants(eventName string) bool {
	return r.Enabled && (len(r.Events) == 0 || slices.Contains(r.Events, eventName))
}

// Notification is one thing that happened, to be sent to every recipient of
// its environment and source that wants its event name.
type Notification struct {
	Env       event.EnvID
	Source    string
	EventName string
	// Payload is the body webhooks receive (JSON).
	Payload []byte
	// Summary is a one-line text for recipients that show text (chat, email).
	Summary string
}

// Delivery is one notification on its way to one recipient.
type Delivery struct {
	ID        int64
	Recipient Recipient
	EventName string
	Payload   []byte
	Summary   string
	// Attempt is 1 on the first attempt.
	Attempt int
}

// Result is the outcome of one attempt.
type Result struct {
	// Status is the remote status code, if any (HTTP status for webhooks).
	Status int
	// Permanent means retrying cannot help (e.g. HTTP 404).
	Permanent bool
}

// Sender delivers to one kind of recipient. Send must honour ctx, which
// carries the attempt's timeout; it returns nil when the delivery succeeded.
type Sender interface {
	Send(ctx context.Context, d Delivery) (Result, error)
}

// Options tune a Deliverer.
type Options struct {
	// Senders by kind; KindWebhook defaults to a WebhookSender.
	Senders map[Kind]Sender
	// MaxAttempts before a delivery is marked failed (default 8).
	MaxAttempts int
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// BaseBackoff is the wait after the first failure, doubled after each
	// further one up to MaxBackoff, with ±25 % jitter (defaults 1 s, 10 min).
	BaseBackoff, MaxBackoff time.Duration
	Logger                  *slog.Logger
}

// Deliverer records and delivers notifications. It is safe for concurrent
// use.
type Deliverer struct {
	db   *meta.DB
	opt  Options
	log  *slog.Logger
	ctx  context.Context
	stop context.CancelFunc

	mu      sync.Mutex
	queues  map[int64]*recipientQueue
	timers  map[*time.Timer]struct{}
	recips  map[recipientsKey]cachedRecipients
	closed  bool
	wg      sync.WaitGroup
	started bool
}

// recipientQueue is one recipient's deliveries, worked on by one goroutine
// at a time.
type recipientQueue struct {
	pending []Delivery
	running bool
}

// New returns a Deliverer over db. Call Start to resume pending deliveries
// and Close to stop.
func New(db *meta.DB, opt Options) *Deliverer {
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 8
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.BaseBackoff <= 0 {
		opt.BaseBackoff = time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 10 * time.Minute
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	senders := map[Kind]Sender{KindWebhook: &WebhookSender{},
		// Added kinds (slack.go, pagerduty.go, email.go).
		KindSlack: &SlackSender{}, KindMSTeamsWorkflow: &SlackSender{}, KindPagerDuty: &PagerDutySender{}, KindEmail: &EmailSender{}}
	for k, s := range opt.Senders {
		senders[k] = s
	}
	opt.Senders = senders
	ctx, cancel := context.WithCancel(context.Background())
	return &Deliverer{
		db: db, opt: opt, log: opt.Logger, ctx: ctx, stop: cancel,
		queues: map[int64]*recipientQueue{}, timers: map[*time.Timer]struct{}{},
	}
}

// Start resumes the deliveries left pending by a previous run.
func (d *Deliverer) Start(ctx context.Context) error {
	pend, err := d.db.PendingNotifyDeliveries(ctx)
	if err != nil {
		return fmt.Errorf("notify: resume: %w", err)
	}
	recips := map[int64]*Recipient{}
	for _, p := range pend {
		r, ok := recips[p.RecipientID]
		if !ok {
			mr, err := d.db.NotifyRecipient(ctx, p.RecipientID)
			if err != nil {
				r = nil
			} else {
				rr := recipientFromMeta(mr)
				r = &rr
			}
			recips[p.RecipientID] = r
		}
		if r == nil {
			p.Status, p.LastError = StatusFailed, "recipient deleted"
			_ = d.db.UpdateNotifyDelivery(ctx, p)
			continue
		}
		dl := Delivery{ID: p.ID, Recipient: *r, EventName: p.EventName, Payload: []byte(p.Payload), Attempt: p.Attempts + 1}
		if wait := time.Until(p.NextAttemptAt); wait > 0 {
			d.later(dl, wait)
		} else {
			d.enqueue(dl)
		}
	}
	return nil
}

// Close stops delivering. Deliveries not yet made stay pending in the log
// and are resumed by the next Start.
func (d *Deliverer) Close() {
	d.mu.Lock()
	d.closed = true
	for t := range d.timers {
		t.Stop()
	}
	clear(d.timers)
	d.mu.Unlock()
	d.stop()
	d.wg.Wait()
}

// Notify records one pending delivery of n per recipient of n's environment
// and source that wants n.EventName, and delivers them in the background.
// It returns once the deliveries are recorded.
func (d *Deliverer) Notify(ctx context.Context, n Notification) error {
	rs, err := d.Recipients(ctx, n.Env, n.Source)
	if err != nil {
		return err
	}
	var want []Recipient
	for _, r := range rs {
		if r.Wants(n.EventName) {
			want = append(want, r)
		}
	}
	if len(want) == 0 {
		return nil
	}
	rows := make([]meta.NotifyDelivery, len(want))
	for i, r := range want {
		rows[i] = meta.NotifyDelivery{RecipientID: r.ID, EnvID: int64(n.Env), EventName: n.EventName, Payload: string(n.Payload)}
	}
	rows, err = d.db.CreateNotifyDeliveries(ctx, rows)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	for i, row := range rows {
		d.enqueue(Delivery{ID: row.ID, Recipient: want[i], EventName: n.EventName, Payload: n.Payload, Summary: n.Summary, Attempt: 1})
	}
	return nil
}

// enqueue appends dl to its recipient's queue and starts the recipient's
// worker if it is idle.
func (d *Deliverer) enqueue(dl Delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	q := d.queues[dl.Recipient.ID]
	if q == nil {
		q = &recipientQueue{}
		d.queues[dl.Recipient.ID] = q
	}
	q.pending = append(q.pending, dl)
	if !q.running {
		q.running = true
		d.wg.Add(1)
		go d.work(dl.Recipient.ID, q)
	}
}

// later enqueues dl after wait.
func (d *Deliverer) later(dl Delivery, wait time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(wait, func() {
		d.mu.Lock()
		delete(d.timers, t)
		d.mu.Unlock()
		d.enqueue(dl)
	})
	d.timers[t] = struct{}{}
}

// work delivers one recipient's queue in order until it is empty.
func (d *Deliverer) work(id int64, q *recipientQueue) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		if len(q.pending) == 0 || d.closed {
			q.running = false
			if len(q.pending) == 0 {
				delete(d.queues, id)
			}
			d.mu.Unlock()
			return
		}
		dl := q.pending[0]
		q.pending = q.pending[1:]
		d.mu.Unlock()
		d.attempt(dl)
	}
}

// attempt makes one delivery attempt and records it.
func (d *Deliverer) attempt(dl Delivery) {
	sender := d.opt.Senders[dl.Recipient.Kind]
	var res Result
	var err error
	if sender == nil {
		res, err = Result{Permanent: true}, fmt.Errorf("no sender for recipient kind %q", dl.Recipient.Kind)
	} else {
		ctx, cancel := context.WithTimeout(d.ctx, d.opt.Timeout)
		res, err = safeSend(ctx, sender, dl)
		cancel()
	}
	if d.ctx.Err() != nil && err != nil {
		return // shutting down: stays pending, resumed by the next Start
	}
	row := meta.NotifyDelivery{ID: dl.ID, Attempts: dl.Attempt, LastStatus: res.Status, NextAttemptAt: time.Now()}
	switch {
	case err == nil:
		row.Status = StatusDelivered
	case res.Permanent || dl.Attempt >= d.opt.MaxAttempts:
		row.Status, row.LastError = StatusFailed, truncate(err.Error(), 1000)
	default:
		wait := d.backoff(dl.Attempt)
		row.Status, row.LastError, row.NextAttemptAt = StatusPending, truncate(err.Error(), 1000), time.Now().Add(wait)
	}
	if uerr := d.db.UpdateNotifyDelivery(context.Background(), row); uerr != nil {
		d.log.Error("notify: record delivery attempt", "delivery", dl.ID, "err", uerr)
	}
	if err != nil {
		d.log.Warn("notify: delivery attempt failed", "delivery", dl.ID, "recipient", dl.Recipient.ID,
			"attempt", dl.Attempt, "status", res.Status, "err", err, "final", row.Status == StatusFailed)
	}
	if row.Status == StatusPending {
		dl.Attempt++
		d.later(dl, time.Until(row.NextAttemptAt))
	}
}

// safeSend calls the sender, turning a panic into a permanent failure so a
// buggy sender cannot take the process down.
func safeSend(ctx context.Context, s Sender, dl Delivery) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = Result{Permanent: true}, fmt.Errorf("sender panicked: %v", p)
		}
	}()
	return s.Send(ctx, dl)
}

// backoff is the wait before attempt+1: BaseBackoff·2^(attempt-1), capped,
// ±25 % jitter.
func (d *Deliverer) backoff(attempt int) time.Duration {
	w := d.opt.BaseBackoff
	for i := 1; i < attempt && w < d.opt.MaxBackoff; i++ {
		w *= 2
	}
	w = min(w, d.opt.MaxBackoff)
	j := time.Duration(float64(w) * (rand.Float64()*0.5 - 0.25))
	return w + j
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
