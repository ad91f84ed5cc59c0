package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta/pgtest"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/clickhouse"
	"github.com/waggle-hq/waggle/internal/store/clickhouse/chtest"
)

// cluster is a ClickHouse server and a PostgreSQL database shared by the
// waggle nodes of one test.
type cluster struct {
	chDSN, pgURL, masterKey string
	pg                      *sql.DB
	ch                      *chtest.Server
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts ClickHouse, PostgreSQL and several waggle nodes")
	}
	srv := chtest.Start(t)
	pg, err := pgtest.Start()
	if err == pgtest.ErrNotInstalled {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })
	c := &cluster{chDSN: srv.DSN("waggle", ""), pgURL: pg.NewDatabase(t), ch: srv}
	var k [32]byte
	rand.Read(k[:])
	c.masterKey = base64.StdEncoding.EncodeToString(k[:])
	if c.pg, err = sql.Open("pgx", c.pgURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.pg.Close() })
	return c
}

// node starts a waggle node on the cluster with a lease TTL short enough for
// a test to see a take-over.
func (c *cluster) node(t *testing.T, extra ...string) *node {
	t.Helper()
	env := append([]string{
		"WAGGLE_STORE=" + c.chDSN,
		"WAGGLE_META=" + c.pgURL,
		"WAGGLE_MASTER_KEY=" + c.masterKey,
		"WAGGLE_API_KEY=" + testKey,
		"WAGGLE_LEASE_TTL=3s",
		"WAGGLE_RETENTION_INTERVAL=1s",
	}, extra...)
	return startNode(t, t.TempDir(), env...)
}

// leaseHolderPID returns the pid in the holder id of lease name (host/pid/random), or 0.
func (c *cluster) leaseHolderPID(t *testing.T, name string) int {
	t.Helper()
	var holder string
	var remainingUS int64
	err := c.pg.QueryRow(`SELECT holder, expires_us - (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT FROM leases WHERE name = $1`, name).Scan(&holder, &remainingUS)
	if err == sql.ErrNoRows || (err == nil && remainingUS <= 0) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	parts := strings.Split(holder, "/")
	if len(parts) >= 3 {
		fmt.Sscan(parts[len(parts)-2], &pid)
	}
	return pid
}

// countBy runs COUNT broken down by column through n's query API.
func countBy(n *node, key, dataset, column string, rangeSec int) map[string]float64 {
	rows := n.query(key, dataset, map[string]any{
		"calculations": []map[string]any{{"op": "COUNT"}},
		"breakdowns":   []string{column},
		"time_range":   rangeSec,
		"limit":        1000,
	})
	out := map[string]float64{}
	for _, r := range rows {
		out[fmt.Sprint(r[column])] = r["COUNT"].(float64)
	}
	return out
}

// TestMultiNode runs two waggle processes on one ClickHouse and one
// PostgreSQL: either node ingests (Honeycomb batch, OTLP/HTTP) and answers
// queries about what the other ingested; a query result POSTed to one is read
// from the other (no sticky sessions); a key created through one works on
// the other; after one is killed with SIGKILL in the middle of a load every
// acknowledged batch is there exactly once, and the survivor takes the
// retention lease over and enforces retention.
func TestMultiNode(t *testing.T) {
	c := startCluster(t)
	a := c.node(t)
	b := c.node(t)
	nodes := []*node{a, b}

	t.Run("HoneycombThroughAQueriedThroughB", func(t *testing.T) {
		events := make([]map[string]any, 50)
		for i := range events {
			events[i] = map[string]any{"via": "a", "i": i, "duration_ms": float64(i)}
		}
		if code, raw := a.do("POST", "/1/batch/orders", testKey, wrapBatch(events), nil); code != 200 || strings.Count(string(raw), "202") != 50 {
			t.Fatalf("batch through A: %d %s", code, raw)
		}
		got := countBy(b, testKey, "orders", "via", 3600)
		if got["a"] != 50 {
			t.Fatalf("B counts %v, want 50 events of A", got)
		}
		var cols []struct {
			KeyName string `json:"key_name"`
		}
		if code, raw := b.do("GET", "/1/columns/orders", testKey, nil, &cols); code != 200 || len(cols) < 3 {
			t.Fatalf("B lists A's columns: %d %s", code, raw)
		}
	})

	t.Run("QueryResultRunOnAReadOnB", func(t *testing.T) {
		// No sticky sessions: a result POSTed to A is read from B (which
		// runs the saved query again over the range A resolved).
		var q struct {
			ID string `json:"id"`
		}
		spec := map[string]any{"calculations": []map[string]any{{"op": "COUNT"}}, "breakdowns": []string{"via"}, "time_range": 3600}
		if code, raw := a.do("POST", "/1/queries/orders", testKey, spec, &q); code != 200 {
			t.Fatalf("create query through A: %d %s", code, raw)
		}
		var created struct {
			ID string `json:"id"`
		}
		if code, raw := a.do("POST", "/1/query_results/orders", testKey, map[string]any{"query_id": q.ID, "disable_series": true}, &created); code != 201 {
			t.Fatalf("run through A: %d %s", code, raw)
		}
		var fromA, fromB map[string]any
		if code, raw := a.do("GET", "/1/query_results/orders/"+created.ID, testKey, nil, &fromA); code != 200 {
			t.Fatalf("read through A: %d %s", code, raw)
		}
		if code, raw := b.do("GET", "/1/query_results/orders/"+created.ID, testKey, nil, &fromB); code != 200 || fromB["complete"] != true {
			t.Fatalf("read through B: %d %s", code, raw)
		}
		if !reflect.DeepEqual(fromA["data"], fromB["data"]) {
			t.Fatalf("B answers %v, A answered %v", fromB["data"], fromA["data"])
		}
		if code, raw := b.do("GET", "/1/query_results/orders/"+created.ID[:len(created.ID)-2]+"AA", testKey, nil, nil); code != 404 {
			t.Fatalf("forged id through B: %d %s", code, raw)
		}
	})

	t.Run("OTLPThroughBTraceThroughA", func(t *testing.T) {
		trace := randHex(16)
		var spans []string
		now := time.Now().UnixNano()
		for i := range 3 {
			id := randHex(8)
			spans = append(spans, fmt.Sprintf(`{"traceId":%q,"spanId":%q,"name":"op%d","kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}`,
				trace, id, i, now+int64(i)*1e6, now+int64(i+1)*1e6))
		}
		body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeSpans":[{"spans":[` +
			strings.Join(spans, ",") + `]}]}]}`
		req, _ := http.NewRequest("POST", b.base+"/v1/traces", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Honeycomb-Team", testKey)
		req.Header.Set("X-Honeycomb-Dataset", "checkout")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("OTLP/HTTP through B: %d %s", resp.StatusCode, raw)
		}
		code, got := a.do("GET", "/api/v1/traces/"+trace, testKey, nil, nil)
		if code != 200 {
			t.Fatalf("trace through A: %d %s", code, got)
		}
		for i := range 3 {
			if !bytes.Contains(got, []byte(fmt.Sprintf(`"op%d"`, i))) {
				t.Fatalf("trace through A lacks span op%d: %s", i, got)
			}
		}
		if n := countBy(a, testKey, "checkout", "name", 3600); len(n) != 3 {
			t.Fatalf("A counts spans by name %v, want 3 names", n)
		}
	})

	t.Run("KeyCreatedThroughAWorksOnB", func(t *testing.T) {
		key := createKey(t, a, testKey, "", map[string]bool{"send_events": true, "create_datasets": true, "run_queries": true, "manage_columns": true})
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, raw := b.do("POST", "/1/batch/keyed", key, wrapBatch([]map[string]any{{"k": 1}}), nil)
			if code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("B refuses A's new key: %d %s", code, raw)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got := countBy(a, key, "keyed", "k", 3600); got["1"] != 1 {
			t.Fatalf("A counts %v events B took with A's key", got)
		}
	})

	t.Run("Kill9OneNodeLosesNothingAcknowledged", func(t *testing.T) {
		// The retention lease holder is the node to kill.
		var victim, survivor *node
		deadline := time.Now().Add(10 * time.Second)
		for victim == nil {
			pid := c.leaseHolderPID(t, "retention")
			for i, n := range nodes {
				if n.cmd.Process.Pid == pid {
					victim, survivor = n, nodes[1-i]
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("no node holds the retention lease")
			}
			time.Sleep(50 * time.Millisecond)
		}

		const workers, perWorker, batchSize = 4, 100, 100
		var (
			mu               sync.Mutex
			acked            []string
			ackedBefore, cut int
			wg               sync.WaitGroup
		)
		client := &http.Client{Timeout: 30 * time.Second}
		killed := make(chan struct{})
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				failedOver := false
				for i := range perWorker {
					id := fmt.Sprintf("w%d-b%03d", w, i)
					events := make([]map[string]any, batchSize)
					for j := range events {
						events[j] = map[string]any{"batch": id, "seq": j, "attr_" + fmt.Sprint(j%7): j}
					}
					// Alternate nodes, as a load balancer would, until
					// this worker saw the victim fail.
					n := nodes[(w+i)%2]
					if failedOver {
						n = survivor
					}
					ok, err := sendBatch(client, n.base, testKey, "load", events)
					if err != nil {
						// The node died under this request or refused the
						// connection: the batch is not acknowledged (it may
						// or may not be stored, whole); the worker goes on
						// with the survivor.
						mu.Lock()
						cut++
						mu.Unlock()
						failedOver = true
						continue
					}
					if err == nil && ok {
						mu.Lock()
						acked = append(acked, id)
						select {
						case <-killed:
						default:
							ackedBefore++
						}
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(1500 * time.Millisecond)
		victim.kill()
		killedAt := time.Now()
		close(killed)
		// The survivor takes the retention lease over once its TTL (3s)
		// ran out.
		var takeover time.Duration
		for takeover == 0 {
			if c.leaseHolderPID(t, "retention") == survivor.cmd.Process.Pid {
				takeover = time.Since(killedAt)
			} else if time.Since(killedAt) > 30*time.Second {
				t.Fatal("the survivor did not take the retention lease over within 30s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		wg.Wait()
		if ackedBefore == 0 || ackedBefore == len(acked) || cut == 0 {
			t.Fatalf("the kill was not in the middle of the load: %d of %d batches acknowledged before it, %d cut", ackedBefore, len(acked), cut)
		}
		if len(acked) < workers*perWorker/4 {
			t.Fatalf("only %d batches acknowledged", len(acked))
		}
		got := countBy(survivor, testKey, "load", "batch", 3600)
		for _, id := range acked {
			if got[id] != batchSize {
				t.Errorf("acknowledged batch %s: %v events, want exactly %d", id, got[id], batchSize)
			}
		}
		for id, n := range got {
			if n != batchSize {
				t.Errorf("batch %s stored %v times %d events: partial or duplicated", id, n, batchSize)
			}
		}
		t.Logf("%d batches acknowledged (%d events; %d before the kill, %d requests cut by it), %d batches stored; "+
			"victim pid %d, survivor pid %d took the retention lease over %v after the kill",
			len(acked), len(acked)*batchSize, ackedBefore, cut, len(got), victim.cmd.Process.Pid, survivor.cmd.Process.Pid, takeover.Round(100*time.Millisecond))

		// Retention: events of a dataset with a one-day window, ten days
		// old, written straight into ClickHouse after the kill; only the
		// survivor can drop them, once it took the lease over.
		opts, err := clickhouse.ParseDSN(c.chDSN)
		if err != nil {
			t.Fatal(err)
		}
		direct, err := clickhouse.Open(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer direct.Close()
		ctx := context.Background()
		dss, err := direct.Datasets(ctx, 1)
		if err != nil || len(dss) == 0 {
			t.Fatalf("datasets of environment 1: %v %v", dss, err)
		}
		if _, _, err := direct.CreateDataset(ctx, 1, store.DatasetInfo{Name: "expired", Retention: 24 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-10 * 24 * time.Hour)
		var evs []event.Event
		for i := range 10 {
			evs = append(evs, event.Event{Time: old.Add(time.Duration(i) * time.Second), Dataset: "expired", SampleRate: 1,
				Fields: []event.Field{{Key: "i", Value: event.Int(int64(i))}}})
		}
		if err := direct.Write(ctx, event.Batch{Env: 1, Events: evs}); err != nil {
			t.Fatal(err)
		}
		countOld := func() float64 {
			r, err := direct.Execute(ctx, 1, &query.Plan{Datasets: []string{"expired"}, Start: old.Add(-time.Hour), End: old.Add(time.Hour),
				Aggregates: []query.Aggregate{{Op: query.AggCount}}})
			if err != nil {
				t.Fatal(err)
			}
			return r.Groups[0].Values[0].Number
		}
		if n := countOld(); n != 10 {
			t.Fatalf("expired dataset holds %v events before retention, want 10", n)
		}
		wrote := time.Now()
		for countOld() != 0 {
			if time.Since(wrote) > 30*time.Second {
				t.Fatalf("the survivor did not enforce retention within 30s of the kill (lease holder pid %d)", c.leaseHolderPID(t, "retention"))
			}
			time.Sleep(100 * time.Millisecond)
		}
		if pid := c.leaseHolderPID(t, "retention"); pid != survivor.cmd.Process.Pid {
			t.Fatalf("retention lease held by pid %d, want the survivor %d", pid, survivor.cmd.Process.Pid)
		}
		t.Logf("the survivor dropped the expired partition %v after it was written", time.Since(wrote).Round(100*time.Millisecond))
	})
}

// TestMultiNodeTriggers kills the node evaluating triggers with SIGKILL: the
// other node takes the triggers lease over and the trigger's webhook keeps
// receiving notifications, now from the survivor's evaluations.
func TestMultiNodeTriggers(t *testing.T) {
	c := startCluster(t)
	type hit struct {
		at     time.Time
		result float64
	}
	hits := make(chan hit, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Status       string `json:"status"`
			ResultGroups []struct {
				Result float64 `json:"Result"`
			} `json:"result_groups"`
		}
		if err := json.NewDecoder(r.Body).Decode(&p); err == nil && p.Status == "TRIGGERED" && len(p.ResultGroups) == 1 {
			hits <- hit{time.Now(), p.ResultGroups[0].Result}
		}
	}))
	defer hook.Close()
	a := c.node(t, "WAGGLE_TRIGGER_TICK=1s")
	b := c.node(t, "WAGGLE_TRIGGER_TICK=1s")
	nodes := []*node{a, b}

	send := func(n *node, count int) {
		events := make([]map[string]any, count)
		for i := range events {
			events[i] = map[string]any{"i": i}
		}
		if code, raw := n.do("POST", "/1/batch/alerts", testKey, wrapBatch(events), nil); code != 200 {
			t.Fatalf("batch: %d %s", code, raw)
		}
	}
	send(a, 5)
	var rc, tr struct {
		ID string `json:"id"`
	}
	if code, raw := a.do("POST", "/1/recipients", testKey, map[string]any{"type": "webhook",
		"details": map[string]any{"webhook_name": "test", "webhook_url": hook.URL + "/hook"}}, &rc); code != 201 {
		t.Fatalf("create recipient: %d %s", code, raw)
	}
	// True on every run (the events stay in its four minutes), notified
	// every run.
	if code, raw := a.do("POST", "/1/triggers/alerts", testKey, map[string]any{"name": "always",
		"query":     map[string]any{"calculations": []map[string]any{{"op": "COUNT"}}, "time_range": 240},
		"threshold": map[string]any{"op": ">", "value": 0}, "frequency": 60, "alert_type": "on_true",
		"recipients": []map[string]any{{"id": rc.ID}}}, &tr); code != 201 {
		t.Fatalf("create trigger: %d %s", code, raw)
	}
	wait := func(what string, d time.Duration, ok func(hit) bool) hit {
		t.Helper()
		timeout := time.After(d)
		for {
			select {
			case h := <-hits:
				if ok(h) {
					return h
				}
			case <-timeout:
				t.Fatalf("no %s within %v (triggers lease holder pid %d)", what, d, c.leaseHolderPID(t, "triggers"))
			}
		}
	}
	// The first evaluation; kill well before the end of its minute, so that
	// the next interval's evaluation is surely the survivor's.
	first := wait("first notification", 70*time.Second, func(h hit) bool { return h.result == 5 && h.at.Second() < 45 })
	var victim, survivor *node
	pid := c.leaseHolderPID(t, "triggers")
	for i, n := range nodes {
		if n.cmd.Process.Pid == pid {
			victim, survivor = n, nodes[1-i]
		}
	}
	if victim == nil {
		t.Fatalf("triggers lease held by pid %d, neither node", pid)
	}
	victim.kill()
	killedAt := time.Now()
	// Events sent after the kill: a notification counting them comes from an
	// evaluation that ran after it.
	send(survivor, 3)
	// The triggers lease has the configured TTL (3s), not one of its own.
	var takeover time.Duration
	for takeover == 0 {
		if c.leaseHolderPID(t, "triggers") == survivor.cmd.Process.Pid {
			takeover = time.Since(killedAt)
		} else if time.Since(killedAt) > 10*time.Second {
			t.Fatal("the survivor did not take the triggers lease over within 10s (WAGGLE_LEASE_TTL=3s)")
		}
		time.Sleep(50 * time.Millisecond)
	}
	next := wait("notification from the survivor", 75*time.Second, func(h hit) bool { return h.result == 8 })
	if got := c.leaseHolderPID(t, "triggers"); got != survivor.cmd.Process.Pid {
		t.Fatalf("triggers lease held by pid %d, want the survivor %d", got, survivor.cmd.Process.Pid)
	}
	t.Logf("first notification at %s from pid %d (killed); the survivor pid %d took the lease %v after the kill and notified at %s, %v after it",
		first.at.Format("15:04:05.0"), victim.cmd.Process.Pid, survivor.cmd.Process.Pid, takeover.Round(100*time.Millisecond),
		next.at.Format("15:04:05.0"), next.at.Sub(killedAt).Round(100*time.Millisecond))
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestExportImportCLI moves a node's embedded store into ClickHouse with
// `waggle export` and `waggle import`, then a node on ClickHouse answers the
// same query as the embedded one did.
func TestExportImportCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ClickHouse and two waggle nodes")
	}
	srv := chtest.Start(t)
	dir := t.TempDir()
	n := startNode(t, dir, "WAGGLE_API_KEY="+testKey)
	events := make([]map[string]any, 300)
	for i := range events {
		events[i] = map[string]any{"route": fmt.Sprintf("/r%d", i%5), "duration_ms": float64(i) / 7}
	}
	if code, raw := n.do("POST", "/1/batch/moved", testKey, wrapBatch(events), nil); code != 200 {
		t.Fatalf("batch: %d %s", code, raw)
	}
	want := countBy(n, testKey, "moved", "route", 3600)
	n.stop()

	file := t.TempDir() + "/events.jsonl.gz"
	run := func(args ...string) {
		out, err := exec.Command(waggleBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("waggle %v: %v\n%s", args, err, out)
		}
		t.Logf("waggle %s: %s", args[0], bytes.TrimSpace(out))
	}
	run("export", "--data-dir", dir, "--out", file)
	run("import", "--store", srv.DSN("waggle", ""), "--in", file)

	// The same data directory keeps the metadata (the key); events now come
	// from ClickHouse.
	m := startNode(t, dir, "WAGGLE_API_KEY="+testKey, "WAGGLE_STORE="+srv.DSN("waggle", ""))
	if got := countBy(m, testKey, "moved", "route", 3600); !reflect.DeepEqual(got, want) {
		t.Fatalf("after export/import ClickHouse counts %v, the embedded store counted %v", got, want)
	}
}
