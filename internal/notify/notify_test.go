package notify

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

func openMeta(t *testing.T) *meta.DB {
	t.Helper()
	db, err := meta.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDeliveryRetriesAndIsolation: a recipient that fails twice is retried
// with backoff and delivered; a recipient that hangs (bounded by the
// timeout) and one that answers 404 (permanent) do not delay the others;
// every attempt is in the log.
func TestDeliveryRetriesAndIsolation(t *testing.T) {
	db := openMeta(t)
	ctx := context.Background()
	var flakyCalls, okCalls atomic.Int32
	var gotBody atomic.Value
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if flakyCalls.Add(1) <= 2 {
			w.WriteHeader(503)
			return
		}
		b, _ := io.ReadAll(r.Body)
		gotBody.Store(string(b) + "|" + r.Header.Get("X-Secret"))
	}))
	defer flaky.Close()
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	gone := httptest.NewServer(http.NotFoundHandler())
	defer gone.Close()
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { okCalls.Add(1) }))
	defer ok.Close()

	d := New(db, Options{MaxAttempts: 3, Timeout: 300 * time.Millisecond, BaseBackoff: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer d.Close()
	env := event.EnvID(1)
	mk := func(url string, events ...string) Recipient {
		r, err := d.CreateRecipient(ctx, Recipient{Env: env, Source: "test", Kind: KindWebhook, Target: url,
			Events: events, Enabled: true, Config: map[string]string{"header:X-Secret": "s3"}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rFlaky, rSlow, rGone, rOK := mk(flaky.URL), mk(slow.URL), mk(gone.URL), mk(ok.URL, "new_item")
	mk(ok.URL, "other_event") // does not want new_item
	if _, err := d.CreateRecipient(ctx, Recipient{Env: env, Source: "test", Kind: KindWebhook, Target: "ftp://x"}); err == nil {
		t.Error("ftp URL accepted")
	}

	start := time.Now()
	if err := d.Notify(ctx, Notification{Env: env, Source: "test", EventName: "new_item", Payload: []byte(`{"event_name":"new_item"}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ok recipient", func() bool { return okCalls.Load() == 1 })
	if time.Since(start) > 250*time.Millisecond {
		t.Errorf("a healthy recipient waited %v behind a hanging one", time.Since(start))
	}
	waitFor(t, "flaky recipient", func() bool { return gotBody.Load() != nil })
	if got := gotBody.Load().(string); got != `{"event_name":"new_item"}|s3` {
		t.Errorf("webhook body|header %q", got)
	}
	status := func(r Recipient) LogEntry {
		log, err := d.Log(ctx, env, r.ID, 10)
		if err != nil || len(log) != 1 {
			t.Fatalf("log of %d: %v %v", r.ID, log, err)
		}
		return log[0]
	}
	waitFor(t, "final states", func() bool {
		return status(rFlaky).Status == StatusDelivered && status(rSlow).Status == StatusFailed &&
			status(rGone).Status == StatusFailed && status(rOK).Status == StatusDelivered
	})
	if s := status(rFlaky); s.Attempts != 3 || s.LastStatus != 200 {
		t.Errorf("flaky: %+v", s)
	}
	if s := status(rGone); s.Attempts != 1 || s.LastStatus != 404 {
		t.Errorf("gone (permanent): %+v", s)
	}
	if s := status(rSlow); s.Attempts != 3 || s.LastError == "" {
		t.Errorf("slow: %+v", s)
	}
	if okCalls.Load() != 1 {
		t.Errorf("ok recipient called %d times", okCalls.Load())
	}
}

// TestResumePending: deliveries left pending by a stopped Deliverer are
// made by the next one's Start.
func TestResumePending(t *testing.T) {
	db := openMeta(t)
	ctx := context.Background()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := New(db, Options{BaseBackoff: time.Hour, Logger: quiet})
	r, err := d.CreateRecipient(ctx, Recipient{Env: 1, Source: "test", Kind: KindWebhook, Target: srv.URL, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Notify(ctx, Notification{Env: 1, Source: "test", EventName: "e", Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first attempt", func() bool { return calls.Load() == 1 })
	time.Sleep(50 * time.Millisecond)
	d.Close()
	// Make the retry due now, then resume.
	pend, _ := db.PendingNotifyDeliveries(ctx)
	if len(pend) != 1 {
		t.Fatalf("%d pending", len(pend))
	}
	pend[0].NextAttemptAt = time.Now()
	if err := db.UpdateNotifyDelivery(ctx, pend[0]); err != nil {
		t.Fatal(err)
	}
	d2 := New(db, Options{Logger: quiet})
	defer d2.Close()
	if err := d2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "resumed delivery", func() bool {
		log, _ := d2.Log(ctx, 1, r.ID, 1)
		return len(log) == 1 && log[0].Status == StatusDelivered && log[0].Attempts == 2
	})
}
