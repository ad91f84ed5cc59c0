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
// deliveries survive a restart and the death of the node that recorded them.
//
// Several nodes may share the metadata database, each with its Deliverer. A
// Deliverer sends a delivery only while it holds the delivery's claim in the
// database (meta.DB.ClaimNotifyDelivery: compare and set, expiry by the
// database's clock, renewed while an attempt is in flight), so two nodes
// never send one delivery at once; recording the attempt releases the claim.
// After Start, every Deliverer looks for pending deliveries that are due and
// that nobody holds a claim on (never claimed, released, or whose holder died
// and let the claim expire) every ScanInterval, and takes them on.
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
	// ClaimTTL is how long a claim on a delivery lasts without renewal
	// (default 1 min): how long after a node died mid-attempt another node
	// may retry. Claims are renewed every third of it while an attempt runs,
	// and an attempt whose claim can no longer be renewed is abandoned a
	// tenth of it before the claim ends.
	ClaimTTL time.Duration
	// ScanInterval is how often Start's background pass looks for pending
	// deliveries nobody is sending (default 10 s).
	ScanInterval time.Duration
	// Holder identifies this Deliverer in claims (default meta.NewHolderID()).
	Holder string
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
	// active holds the ids of deliveries this Deliverer has queued, is
	// waiting to retry or is attempting, so the scan does not take them twice.
	active map[int64]struct{}
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
	if opt.ClaimTTL <= 0 {
		opt.ClaimTTL = time.Minute
	}
	if opt.ScanInterval <= 0 {
		opt.ScanInterval = 10 * time.Second
	}
	if opt.Holder == "" {
		opt.Holder = meta.NewHolderID()
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
		active: map[int64]struct{}{},
	}
}

// Start takes on the pending deliveries that are due and that no node is
// sending (left by a previous run, or by a node that died), then does so
// again every ScanInterval in the background until Close. Deliveries not due
// yet are taken on by a later pass once due.
func (d *Deliverer) Start(ctx context.Context) error {
	d.mu.Lock()
	if d.started || d.closed {
		d.mu.Unlock()
		return nil
	}
	d.started = true
	d.mu.Unlock()
	err := d.scan(ctx)
	if err != nil {
		err = fmt.Errorf("notify: resume: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.wg.Add(1)
		go d.scanLoop()
	}
	return err
}

// scanBatch bounds the deliveries one scan takes on.
const scanBatch = 1000

// scanLoop scans every ScanInterval until Close.
func (d *Deliverer) scanLoop() {
	defer d.wg.Done()
	t := time.NewTicker(d.opt.ScanInterval)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
		}
		if err := d.scan(d.ctx); err != nil && d.ctx.Err() == nil {
			d.log.Warn("notify: look for pending deliveries", "err", err)
		}
	}
}

// scan queues the due pending deliveries nobody holds a claim on and that
// this Deliverer does not have already. Their claims are taken as they are
// attempted, so a delivery another node takes first is skipped then.
func (d *Deliverer) scan(ctx context.Context) error {
	pend, err := d.db.ClaimableNotifyDeliveries(ctx, time.Now(), scanBatch)
	if err != nil {
		return err
	}
	recips := map[int64]*Recipient{}
	for _, p := range pend {
		d.mu.Lock()
		_, mine := d.active[p.ID]
		closed := d.closed
		d.mu.Unlock()
		if closed {
			return nil
		}
		if mine {
			continue
		}
		r, ok := recips[p.RecipientID]
		if !ok {
			mr, err := d.db.NotifyRecipient(ctx, p.RecipientID)
			switch {
			case errors.Is(err, meta.ErrNotFound):
				r = nil
			case err != nil:
				return err
			default:
				rr := recipientFromMeta(mr)
				r = &rr
			}
			recips[p.RecipientID] = r
		}
		if r == nil {
			d.failDeleted(ctx, p)
			continue
		}
		d.admit(Delivery{ID: p.ID, Recipient: *r, EventName: p.EventName, Payload: []byte(p.Payload), Attempt: p.Attempts + 1})
	}
	return nil
}

// failDeleted marks a pending delivery to a deleted recipient failed, if it
// can claim it.
func (d *Deliverer) failDeleted(ctx context.Context, p meta.NotifyDelivery) {
	ok, err := d.db.ClaimNotifyDelivery(ctx, p.ID, p.Attempts, d.opt.Holder, d.opt.ClaimTTL)
	if err != nil || !ok {
		return
	}
	p.Status, p.LastError, p.NextAttemptAt = StatusFailed, "recipient deleted", time.Now()
	if _, err := d.db.FinishNotifyAttempt(ctx, p, d.opt.Holder); err != nil {
		d.log.Error("notify: record delivery to a deleted recipient", "delivery", p.ID, "err", err)
	}
}

// Close stops delivering. Deliveries not yet made stay pending in the log;
// the claims of attempts it interrupts are released, so another node's
// Deliverer (or the next Start) takes them on at its next scan.
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
		d.admit(Delivery{ID: row.ID, Recipient: want[i], EventName: n.EventName, Payload: n.Payload, Summary: n.Summary, Attempt: 1})
	}
	return nil
}

// admit queues dl unless this Deliverer has it already (queued, waiting for
// a retry or being attempted).
func (d *Deliverer) admit(dl Delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if _, ok := d.active[dl.ID]; ok {
		return
	}
	d.active[dl.ID] = struct{}{}
	d.enqueueLocked(dl)
}

// done forgets dl: this Deliverer no longer has it.
func (d *Deliverer) done(dl Delivery) {
	d.mu.Lock()
	delete(d.active, dl.ID)
	d.mu.Unlock()
}

// enqueue appends dl (admitted) to its recipient's queue and starts the
// recipient's worker if it is idle.
func (d *Deliverer) enqueue(dl Delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.enqueueLocked(dl)
}

func (d *Deliverer) enqueueLocked(dl Delivery) {
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

// attempt claims dl, makes one delivery attempt and records it (releasing
// the claim), scheduling the retry if there is one. Without the claim (the
// delivery was delivered, attempted again or taken by another node
// meanwhile) it does nothing.
func (d *Deliverer) attempt(dl Delivery) {
	start := time.Now()
	ok, err := d.db.ClaimNotifyDelivery(d.ctx, dl.ID, dl.Attempt-1, d.opt.Holder, d.opt.ClaimTTL)
	if err != nil || !ok {
		if err != nil && d.ctx.Err() == nil {
			// A claim taken but not reported expires; a later scan retries.
			d.log.Error("notify: claim delivery", "delivery", dl.ID, "err", err)
		}
		d.done(dl)
		return
	}
	res, err := d.send(dl, start)
	if d.ctx.Err() != nil && err != nil {
		// Shutting down: the delivery stays pending; give the claim up so
		// another node takes it on at once.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if rerr := d.db.ReleaseNotifyClaim(ctx, dl.ID, d.opt.Holder); rerr != nil {
			d.log.Warn("notify: release delivery claim", "delivery", dl.ID, "err", rerr)
		}
		cancel()
		d.done(dl)
		return
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	held, uerr := d.db.FinishNotifyAttempt(ctx, row, d.opt.Holder)
	cancel()
	if err != nil {
		d.log.Warn("notify: delivery attempt failed", "delivery", dl.ID, "recipient", dl.Recipient.ID,
			"attempt", dl.Attempt, "status", res.Status, "err", err, "final", row.Status == StatusFailed)
	}
	switch {
	case uerr != nil:
		// The claim stays until it expires; then a scan retries.
		d.log.Error("notify: record delivery attempt", "delivery", dl.ID, "err", uerr)
	case !held:
		d.log.Warn("notify: delivery claim lost during the attempt; another node has it", "delivery", dl.ID,
			"attempt", dl.Attempt, "delivered", err == nil)
	case row.Status == StatusPending:
		dl.Attempt++
		d.later(dl, time.Until(row.NextAttemptAt))
		return
	}
	d.done(dl)
}

// send makes the attempt of dl, whose claim was taken at start: it bounds
// the attempt by the timeout, renews the claim every third of ClaimTTL while
// it runs, and cancels it a tenth of ClaimTTL before the claim would end when
// it could not renew, so no other node can claim the delivery while this
// attempt may still be sending.
func (d *Deliverer) send(dl Delivery, start time.Time) (Result, error) {
	sender := d.opt.Senders[dl.Recipient.Kind]
	if sender == nil {
		return Result{Permanent: true}, fmt.Errorf("no sender for recipient kind %q", dl.Recipient.Kind)
	}
	ctx, cancel := context.WithTimeout(d.ctx, d.opt.Timeout)
	defer cancel()
	kctx, stop := context.WithCancel(ctx)
	var kwg sync.WaitGroup
	kwg.Go(func() { d.keepClaim(kctx, cancel, dl.ID, start) })
	res, err := safeSend(ctx, sender, dl)
	stop()
	kwg.Wait()
	return res, err
}

// keepClaim renews the claim on delivery id, taken at start, until ctx ends;
// it calls abort when the claim is no longer surely held.
func (d *Deliverer) keepClaim(ctx context.Context, abort context.CancelFunc, id int64, start time.Time) {
	ttl := d.opt.ClaimTTL
	margin := ttl / 10
	until, last := start.Add(ttl), start
	for {
		wait := min(time.Until(last.Add(ttl/3)), time.Until(until.Add(-margin)))
		if time.Until(until.Add(-margin)) <= 0 {
			d.log.Warn("notify: delivery claim could not be renewed; attempt abandoned", "delivery", id)
			abort()
			return
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if time.Until(until.Add(-margin)) <= 0 {
			continue // abort at the top
		}
		rstart := time.Now()
		rctx, cancel := context.WithDeadline(ctx, until.Add(-margin))
		ok, err := d.db.RenewNotifyClaim(rctx, id, d.opt.Holder, ttl)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			d.log.Warn("notify: renew delivery claim", "delivery", id, "err", err)
			last = rstart // try again a third of the TTL later, or abort first
		case !ok:
			d.log.Warn("notify: delivery claim lost; attempt abandoned", "delivery", id)
			abort()
			return
		default:
			until, last = rstart.Add(ttl), rstart
		}
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
