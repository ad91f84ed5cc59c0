package notify

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/meta/metatest"
	"github.com/waggle-hq/waggle/internal/meta/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }

// openNodes opens b's database once per node, as separate nodes would; on
// DuckDB (one open per process) the nodes share one DB.
func openNodes(t *testing.T, b *metatest.Backend, n int) []*meta.DB {
	t.Helper()
	dbs := []*meta.DB{b.Open(t)}
	for len(dbs) < n {
		if b.Shared() {
			dbs = append(dbs, b.Open(t))
		} else {
			dbs = append(dbs, dbs[0])
		}
	}
	return dbs
}

// counter is a webhook receiver that counts the deliveries it got by their
// payload's "n".
type counter struct {
	mu    sync.Mutex
	got   map[string]int
	total atomic.Int32
	delay time.Duration
}

func newCounter(t *testing.T, delay time.Duration) (*counter, *httptest.Server) {
	c := &counter{got: map[string]int{}, delay: delay}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		time.Sleep(c.delay)
		c.mu.Lock()
		c.got[string(b)]++
		c.mu.Unlock()
		c.total.Add(1)
	}))
	t.Cleanup(srv.Close)
	return c, srv
}

func (c *counter) count(payload string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.got[payload]
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestDeadNodeDeliveriesTakenOver: a delivery committed by a Deliverer that
// is closed (dies) before sending it is sent by another, running Deliverer
// within a bounded time, without any restart; so is one whose claim a dead
// node left behind, once the claim expires.
func TestDeadNodeDeliveriesTakenOver(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		dbs := openNodes(t, b, 2)
		c, srv := newCounter(t, 0)
		live := New(dbs[1], Options{ScanInterval: 50 * time.Millisecond, ClaimTTL: time.Second, Logger: quietLog()})
		defer live.Close()
		if err := live.Start(ctx); err != nil {
			t.Fatal(err)
		}
		dead := New(dbs[0], Options{Logger: quietLog()})
		r, err := dead.CreateRecipient(ctx, Recipient{Env: 1, Source: "test", Kind: KindWebhook, Target: srv.URL, Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		// The dead node commits deliveries (as the trigger engine does) and
		// dies before dispatching them.
		rows, err := dbs[0].CreateNotifyDeliveries(ctx, Rows(1, "e", []Addressed{{Recipient: r, Payload: []byte(`{"n":1}`)}}))
		if err != nil {
			t.Fatal(err)
		}
		dead.Close()
		// A Deliverer that is closed records but cannot send (Notify after
		// death).
		if err := dead.Notify(ctx, Notification{Env: 1, Source: "test", EventName: "e", Payload: []byte(`{"n":2}`)}); err != nil {
			t.Fatal(err)
		}
		// A node that died in the middle of an attempt left its claim.
		rows3, err := dbs[0].CreateNotifyDeliveries(ctx, Rows(1, "e", []Addressed{{Recipient: r, Payload: []byte(`{"n":3}`)}}))
		if err != nil {
			t.Fatal(err)
		}
		claimed := time.Now() // before the database stamps the claim's expiry
		if ok, err := dbs[0].ClaimNotifyDelivery(ctx, rows3[0].ID, 0, "dead-node", 700*time.Millisecond); !ok || err != nil {
			t.Fatal(ok, err)
		}

		start := time.Now()
		waitFor(t, "the dead node's deliveries", func() bool { return c.count(`{"n":1}`) == 1 && c.count(`{"n":2}`) == 1 })
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("taken over after %v", el)
		}
		waitFor(t, "the delivery whose claim expired", func() bool { return c.count(`{"n":3}`) == 1 })
		if el := time.Since(claimed); el < 700*time.Millisecond {
			t.Errorf("a claim held for 700ms was taken over after %v", el)
		}
		waitFor(t, "delivered in the log", func() bool {
			log, _ := live.Log(ctx, 1, r.ID, 10)
			n := 0
			for _, e := range log {
				if e.Status == StatusDelivered && e.Attempts == 1 {
					n++
				}
			}
			return n == 3 && rows[0].ID > 0
		})
		time.Sleep(200 * time.Millisecond) // a few more scans send nothing again
		if n := c.total.Load(); n != 3 {
			t.Errorf("%d requests for 3 deliveries", n)
		}
	})
}

// TestNodesNeverSendTwice: Deliverers sharing one database, all scanning
// often, one of them started while the others deliver, send every delivery
// exactly once, including retried ones.
func TestNodesNeverSendTwice(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		dbs := openNodes(t, b, 3)
		c, srv := newCounter(t, 5*time.Millisecond)
		// A second receiver fails each payload's first attempt.
		var fmu sync.Mutex
		seen := map[string]int{}
		flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			fmu.Lock()
			seen[string(body)]++
			first := seen[string(body)] == 1
			fmu.Unlock()
			if first {
				w.WriteHeader(503)
				return
			}
			c.mu.Lock()
			c.got["flaky:"+string(body)]++
			c.mu.Unlock()
			c.total.Add(1)
		}))
		defer flaky.Close()
		opt := func(i int) Options {
			return Options{ScanInterval: 5 * time.Millisecond, ClaimTTL: 2 * time.Second,
				BaseBackoff: 20 * time.Millisecond, Holder: fmt.Sprintf("node-%d", i), Logger: quietLog()}
		}
		var ds []*Deliverer
		for i := range 2 {
			d := New(dbs[i], opt(i))
			defer d.Close()
			if err := d.Start(ctx); err != nil {
				t.Fatal(err)
			}
			ds = append(ds, d)
		}
		if _, err := ds[0].CreateRecipient(ctx, Recipient{Env: 1, Source: "test", Kind: KindWebhook, Target: srv.URL, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := ds[0].CreateRecipient(ctx, Recipient{Env: 1, Source: "test", Kind: KindWebhook, Target: flaky.URL, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		const n = 60
		for i := range n {
			if i == n/3 {
				// A node starting while the others deliver.
				d := New(dbs[2], opt(2))
				defer d.Close()
				if err := d.Start(ctx); err != nil {
					t.Fatal(err)
				}
				ds = append(ds, d)
			}
			p := []byte(`{"n":` + strconv.Itoa(i) + `}`)
			if err := ds[i%len(ds)].Notify(ctx, Notification{Env: 1, Source: "test", EventName: "e", Payload: p}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "every delivery", func() bool { return c.total.Load() >= 2*n })
		time.Sleep(300 * time.Millisecond) // scans and retries that would send again
		for i := range n {
			p := `{"n":` + strconv.Itoa(i) + `}`
			if got := c.count(p); got != 1 {
				t.Errorf("%s delivered %d times", p, got)
			}
			if got := c.count("flaky:" + p); got != 1 {
				t.Errorf("%s delivered %d times to the flaky recipient", p, got)
			}
			fmu.Lock()
			if seen[p] != 2 {
				t.Errorf("%s: %d attempts at the flaky recipient, want 2", p, seen[p])
			}
			fmu.Unlock()
		}
		if got := c.total.Load(); got != 2*n {
			t.Errorf("%d successful requests for %d deliveries", got, 2*n)
		}
		pend, err := dbs[0].PendingNotifyDeliveries(ctx)
		if err != nil || len(pend) != 0 {
			t.Errorf("%d pending left, %v", len(pend), err)
		}
	})
}
