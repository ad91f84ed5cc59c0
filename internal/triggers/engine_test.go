package triggers_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/notify"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
	"github.com/waggle-hq/waggle/internal/triggers"
)

const testEnv = 1

// harness is a store, a metadata database, a deliverer and an engine clock.
type harness struct {
	t     *testing.T
	dir   string
	db    *meta.DB
	st    *duckdb.Store
	q     *query.Engine
	d     *notify.Deliverer
	now   time.Time
	mu    sync.Mutex
	log   *slog.Logger
	smtp  string
	close []func()
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, dir: t.TempDir(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h.now = time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	ctx := context.Background()
	var err error
	if h.st, err = duckdb.Open(duckdb.Options{Dir: h.dir + "/events", Logger: h.log, Threads: 1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.st.Close() })
	h.q = query.NewEngine(h.st, honeycomb.NewQueryCatalog(h.st), query.WithLogger(h.log))
	h.openMeta()
	t.Cleanup(func() { h.stopMeta() })
	_ = ctx
	return h
}

func (h *harness) openMeta() {
	var err error
	if h.db, err = meta.Open(context.Background(), h.dir); err != nil {
		h.t.Fatal(err)
	}
	h.d = notify.New(h.db, notify.Options{Logger: h.log, Timeout: time.Second, BaseBackoff: 20 * time.Millisecond, MaxAttempts: 3})
	if h.smtp != "" {
		h.d.ConfigureSMTP(notify.SMTPConfig{Addr: h.smtp, From: "waggle@example.com"})
	}
	if err := h.d.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// stopMeta stops the deliverer and closes the database (a restart).
func (h *harness) stopMeta() {
	if h.db == nil {
		return
	}
	h.d.Close()
	_ = h.db.Close()
	h.db = nil
}

func (h *harness) engine() *triggers.Engine {
	return triggers.New(triggers.Options{DB: h.db, Query: h.q, Notify: func() *notify.Deliverer { return h.d },
		Now: h.clock, Log: h.log, BaseURL: "http://waggle.test"})
}

func (h *harness) clock() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }

func (h *harness) advance(d time.Duration) { h.mu.Lock(); h.now = h.now.Add(d); h.mu.Unlock() }

// requests writes n events with status to "shop" just before now.
func (h *harness) requests(n int, status int64) {
	h.t.Helper()
	var evs []event.Event
	for i := range n {
		e := event.Event{Time: h.clock().Add(-time.Duration(i+1) * time.Second), Dataset: "shop", SampleRate: 1}
		e.Set("status", event.Int(status))
		e.Set("endpoint", event.String("/api/orders"))
		evs = append(evs, e)
	}
	if err := h.st.Write(context.Background(), event.Batch{Env: testEnv, Events: evs}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) recipient(r triggers.Recipient) string {
	h.t.Helper()
	n, err := r.ToNotify()
	if err != nil {
		h.t.Fatal(err)
	}
	n.Env = testEnv
	got, err := h.d.CreateRecipient(context.Background(), n)
	if err != nil {
		h.t.Fatal(err)
	}
	return triggers.RecipientOf(got).ID
}

// errorTrigger stores "COUNT where status >= 500 > 3", frequency 60.
func (h *harness) errorTrigger(alertType string, recipients ...string) *triggers.Trigger {
	h.t.Helper()
	body := `{"name":"5xx rate","query":{"calculations":[{"op":"COUNT"}],"filters":[{"column":"status","op":">=","value":500}]},
		"threshold":{"op":">","value":3},"frequency":60,"alert_type":"` + alertType + `","recipients":[`
	for i, r := range recipients {
		if i > 0 {
			body += ","
		}
		body += `{"id":"` + r + `"}`
	}
	body += `]}`
	tr, err := triggers.ParseTrigger([]byte(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if err := tr.Normalize(); err != nil {
		h.t.Fatal(err)
	}
	if err := h.q.Check(context.Background(), testEnv, []string{"shop"}, tr.Query); err != nil {
		h.t.Fatal(err)
	}
	raw, _ := tr.Body()
	if _, err := h.db.CreateObject(context.Background(), meta.Object{EnvID: testEnv, Kind: meta.KindTrigger, ID: "trig1", Parent: "shop", Body: raw}); err != nil {
		h.t.Fatal(err)
	}
	tr.ID = "trig1"
	return tr
}

func (h *harness) evaluate(e *triggers.Engine, want int) {
	h.t.Helper()
	n, err := e.EvaluateDue(context.Background())
	if err != nil || n != want {
		h.t.Fatalf("EvaluateDue = %d, %v; want %d", n, err, want)
	}
}

// receiver is a webhook endpoint that records what it gets.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	tokens []string
	got    chan struct{}
}

func newReceiver(t *testing.T, delay time.Duration) *receiver {
	r := &receiver{got: make(chan struct{}, 100)}
	stop := make(chan struct{})
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-req.Context().Done():
				return
			case <-stop:
				return
			}
		}
		var m map[string]any
		_ = json.NewDecoder(req.Body).Decode(&m)
		r.mu.Lock()
		r.bodies = append(r.bodies, m)
		r.tokens = append(r.tokens, req.Header.Get(triggers.TokenHeader))
		r.mu.Unlock()
		r.got <- struct{}{}
	}))
	t.Cleanup(func() { close(stop); r.Close() })
	return r
}

func (r *receiver) wait(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		if len(r.bodies) >= n {
			out := append([]map[string]any(nil), r.bodies...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("webhook got %d notifications, want %d", len(r.bodies), n)
		}
	}
}

func (r *receiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.bodies) }

// TestErrorRateTriggerFiresAndResolves: the 5xx count crosses 3, the
// webhook gets Honeycomb's TRIGGERED payload with the secret header; the
// errors stop, it gets OK; a restart in the middle sends no duplicate.
func TestErrorRateTriggerFiresAndResolves(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, 0)
	rid := h.recipient(triggers.Recipient{Type: "webhook", Details: triggers.RecipientDetails{WebhookName: "ops", WebhookURL: rc.URL, WebhookSecret: "s3cret"}})
	h.requests(10, 200)
	h.requests(2, 503)
	tr := h.errorTrigger(triggers.AlertOnChange, rid)
	e := h.engine()

	h.evaluate(e, 1) // 2 errors: OK, nothing sent
	h.evaluate(e, 0) // same interval: not again
	h.advance(time.Minute)
	h.requests(5, 500)
	h.evaluate(e, 1)
	got := rc.wait(t, 1)
	p := got[0]
	if p["status"] != "TRIGGERED" || p["id"] != tr.ID || p["name"] != "5xx rate" || p["operator"] != "greater than" ||
		p["threshold"] != 3.0 || p["summary"] != "Triggered: 5xx rate" || p["version"] != "v0.1.0" {
		t.Fatalf("payload %v", p)
	}
	groups := p["result_groups_triggered"].([]any)
	if len(groups) != 1 || groups[0].(map[string]any)["Result"] != 5.0 {
		t.Fatalf("groups %v", groups)
	}
	if rc.tokens[0] != "s3cret" {
		t.Fatalf("token header %q", rc.tokens[0])
	}
	if !strings.HasPrefix(p["trigger_url"].(string), "http://waggle.test/1/triggers/shop/") {
		t.Fatal(p["trigger_url"])
	}

	// Restart mid-incident (once the notification is delivered: one in
	// flight at shutdown stays pending and is resent, at least once): a new
	// engine on the same database, same interval, then the next one still
	// above the threshold.
	h.waitLog(tr.ID, 1)
	h.stopMeta()
	h.openMeta()
	e = h.engine()
	h.evaluate(e, 0)
	h.advance(time.Minute)
	h.requests(6, 500)
	h.evaluate(e, 1)
	time.Sleep(200 * time.Millisecond)
	if n := rc.count(); n != 1 {
		t.Fatalf("restart sent a duplicate: %d notifications", n)
	}
	if st, err := h.db.TriggerState(context.Background(), testEnv, tr.ID); err != nil || !st.Triggered {
		t.Fatal(st, err)
	}

	h.advance(time.Minute)
	h.requests(3, 200)
	h.evaluate(e, 1)
	got = rc.wait(t, 2)
	if got[1]["status"] != "OK" || got[1]["summary"] != "Resolved: 5xx rate" {
		t.Fatalf("resolve payload %v", got[1])
	}
	// The delivery log of the trigger.
	h.waitLog(tr.ID, 2)
	log, err := h.db.NotifyDeliveriesByEvent(context.Background(), testEnv, triggers.EventName(tr.ID), 10)
	if err != nil || len(log) != 2 || log[0].Status != notify.StatusDelivered {
		t.Fatalf("log %+v %v", log, err)
	}
}

// TestOnTrueNotifiesEveryTriggeredRun and two engines on one database
// (two nodes) evaluate each interval once.
func TestOnTrueNotifiesEveryTriggeredRun(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, 0)
	rid := h.recipient(triggers.Recipient{Type: "webhook", Details: triggers.RecipientDetails{WebhookURL: rc.URL}})
	h.requests(5, 500)
	h.errorTrigger(triggers.AlertOnTrue, rid)
	a, b := h.engine(), h.engine()
	for range 3 {
		var wg sync.WaitGroup
		var na, nb int
		wg.Add(2)
		go func() { defer wg.Done(); na, _ = a.EvaluateDue(context.Background()) }()
		go func() { defer wg.Done(); nb, _ = b.EvaluateDue(context.Background()) }()
		wg.Wait()
		if na+nb != 1 {
			t.Fatalf("interval evaluated %d times", na+nb)
		}
		h.advance(time.Minute)
		h.requests(5, 500)
	}
	rc.wait(t, 3)
	time.Sleep(200 * time.Millisecond)
	if n := rc.count(); n != 3 {
		t.Fatalf("%d notifications, want 3", n)
	}
}

// TestHangingRecipientDoesNotDelayOthers: one webhook never answers; the
// other gets its notification long before the hanging one's timeout, and
// the hanging one's failure is in the delivery log.
func TestHangingRecipientDoesNotDelayOthers(t *testing.T) {
	h := newHarness(t)
	hang := newReceiver(t, time.Hour)
	fast := newReceiver(t, 0)
	r1 := h.recipient(triggers.Recipient{Type: "webhook", Details: triggers.RecipientDetails{WebhookURL: hang.URL}})
	r2 := h.recipient(triggers.Recipient{Type: "slack", Details: triggers.RecipientDetails{SlackChannel: "#ops", SlackWebhookURL: fast.URL}})
	// A URL that does not resolve: bounded too, and logged.
	r3 := h.recipient(triggers.Recipient{Type: "webhook", Details: triggers.RecipientDetails{WebhookURL: "http://no-such-host.invalid/hook"}})
	h.requests(5, 500)
	tr := h.errorTrigger(triggers.AlertOnChange, r1, r2, r3)
	e := h.engine()
	start := time.Now()
	h.evaluate(e, 1)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("evaluation waited for recipients: %v", d)
	}
	got := fast.wait(t, 1)
	if d := time.Since(start); d > 900*time.Millisecond {
		t.Fatalf("slack delivery took %v behind a hanging webhook", d)
	}
	// Slack message: text, coloured attachment with blocks, channel.
	msg := got[0]
	att := msg["attachments"].([]any)[0].(map[string]any)
	if msg["text"] != "Triggered: 5xx rate" || att["color"] != "#d6312c" || len(att["blocks"].([]any)) < 2 || msg["channel"] != "#ops" {
		t.Fatalf("slack message %v", msg)
	}
	// The hanging and unresolvable ones fail within their timeouts (3
	// attempts of 1 s), recorded in the log.
	deadline := time.Now().Add(15 * time.Second)
	for {
		log, err := h.db.NotifyDeliveriesByEvent(context.Background(), testEnv, triggers.EventName(tr.ID), 10)
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for _, l := range log {
			if l.Status == notify.StatusFailed && l.LastError != "" {
				failed++
			}
		}
		if failed == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log %+v", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEmailRecipient delivers to an SMTP server started in the test.
func TestEmailRecipient(t *testing.T) {
	sink := newSMTPSink(t)
	h := newHarness(t)
	h.smtp = sink.addr
	h.stopMeta()
	h.openMeta()
	rid := h.recipient(triggers.Recipient{Type: "email", Details: triggers.RecipientDetails{EmailAddress: "oncall@example.com"}})
	h.requests(5, 500)
	h.errorTrigger(triggers.AlertOnChange, rid)
	h.evaluate(h.engine(), 1)
	select {
	case m := <-sink.mails:
		if m.from != "waggle@example.com" || m.to != "oncall@example.com" {
			t.Fatalf("envelope %q -> %q", m.from, m.to)
		}
		if !strings.Contains(m.data, "Subject: [waggle] Triggered: 5xx rate") || !strings.Contains(m.data, "Currently greater than threshold value (3)") {
			t.Fatalf("mail:\n%s", m.data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no mail")
	}
}

// TestPagerDutyTriggerAndResolve: Events API v2 trigger then resolve with
// the same dedup_key.
func TestPagerDutyTriggerAndResolve(t *testing.T) {
	h := newHarness(t)
	rc := newReceiver(t, 0)
	rid := h.recipient(triggers.Recipient{Type: "pagerduty", Details: triggers.RecipientDetails{PagerDutyIntegrationKey: "rk", PagerDutyURL: rc.URL}})
	h.requests(5, 500)
	h.errorTrigger(triggers.AlertOnChange, rid)
	e := h.engine()
	h.evaluate(e, 1)
	h.advance(time.Minute)
	h.evaluate(e, 1)
	got := rc.wait(t, 2)
	if got[0]["event_action"] != "trigger" || got[1]["event_action"] != "resolve" || got[0]["dedup_key"] != got[1]["dedup_key"] ||
		got[0]["routing_key"] != "rk" || got[0]["payload"].(map[string]any)["severity"] != "critical" {
		t.Fatalf("pagerduty events %v", got)
	}
}

// smtpSink is a minimal SMTP server that accepts every mail.
type smtpSink struct {
	addr  string
	mails chan sinkMail
}

type sinkMail struct{ from, to, data string }

func newSMTPSink(t *testing.T) *smtpSink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	s := &smtpSink{addr: ln.Addr().String(), mails: make(chan sinkMail, 10)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	tp := textproto.NewConn(c)
	_ = tp.PrintfLine("220 sink ESMTP")
	var m sinkMail
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			_ = tp.PrintfLine("250-sink\r\n250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m.from, _, _ = strings.Cut(strings.TrimSpace(line[10:]), " ")
			m.from = strings.Trim(m.from, "<>")
			_ = tp.PrintfLine("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.to = strings.Trim(line[8:], "<> ")
			_ = tp.PrintfLine("250 ok")
		case cmd == "DATA":
			_ = tp.PrintfLine("354 go ahead")
			b, err := io.ReadAll(tp.DotReader())
			if err != nil {
				return
			}
			m.data = string(b)
			_ = tp.PrintfLine("250 queued")
			s.mails <- m
		case cmd == "QUIT":
			_ = tp.PrintfLine("221 bye")
			return
		default:
			_ = tp.PrintfLine("250 ok")
		}
	}
}

// waitLog waits until n of the trigger's deliveries are delivered.
func (h *harness) waitLog(id string, n int) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		log, err := h.db.NotifyDeliveriesByEvent(context.Background(), testEnv, triggers.EventName(id), 100)
		if err != nil {
			h.t.Fatal(err)
		}
		done := 0
		for _, l := range log {
			if l.Status == notify.StatusDelivered {
				done++
			}
		}
		if done >= n {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("log %+v", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
