package rollbar

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wantItem is what a real-client test expects to read back.
type wantItem struct {
	title       string
	level       string
	occurrences int64
	hash        string // when set, the item's fingerprint
	traceLinked bool   // the occurrence event carries the test's trace id
}

// checkClientItems reads the items back through the read API and the
// occurrence events through the Honeycomb query API and the store's trace
// lookup.
func checkClientItems(t *testing.T, e *testEnv, traceID string, want []wantItem) {
	t.Helper()
	var items []itemView
	deadline := time.Now().Add(10 * time.Second)
	for {
		items = e.listItems(t, "")
		var total int64
		for _, it := range items {
			total += it.TotalOccurrences
		}
		var wantTotal int64
		for _, w := range want {
			wantTotal += w.occurrences
		}
		if total >= wantTotal || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	byTitle := map[string]itemView{}
	for _, it := range items {
		// Titles are the first occurrence's; clients that send
		// concurrently may deliver any of several first.
		title := it.Title
		for _, w := range want {
			if strings.HasSuffix(w.title, "*") && strings.HasPrefix(title, strings.TrimSuffix(w.title, "*")) {
				title = w.title
			}
		}
		byTitle[title] = it
		t.Logf("item #%d %q level=%s ×%d hash=%s", it.Counter, it.Title, it.Level, it.TotalOccurrences, it.Hash)
	}
	if len(items) != len(want) {
		t.Errorf("%d items, want %d", len(items), len(want))
	}
	for _, w := range want {
		it, ok := byTitle[w.title]
		if !ok {
			t.Errorf("no item titled %q", w.title)
			continue
		}
		if it.Level != w.level || it.TotalOccurrences != w.occurrences || (w.hash != "" && it.Hash != w.hash) {
			t.Errorf("item %q: level %s ×%d hash %s, want %s ×%d %s", w.title, it.Level, it.TotalOccurrences, it.Hash, w.level, w.occurrences, w.hash)
		}
		if n := len(e.instances(t, it.ID)); int64(n) != w.occurrences {
			t.Errorf("item %q: %d instances, want %d", w.title, n, w.occurrences)
		}
		if !w.traceLinked {
			continue
		}
		rows := e.honeycombQuery(t, fmt.Sprintf(`{"time_range":7200,"calculations":[{"op":"COUNT"}],
			"filters":[{"column":"trace.trace_id","op":"=","value":%q}],"breakdowns":["rollbar.item_id","title","meta.signal_type"]}`, traceID))
		if len(rows) != 1 || rows[0]["COUNT"] != float64(1) || rows[0]["rollbar.item_id"] != float64(it.ID) ||
			rows[0]["title"] != it.Title || rows[0]["meta.signal_type"] != "error" {
			t.Errorf("Honeycomb query by trace id: %v", rows)
		}
		evs, err := e.st.Trace(context.Background(), e.env, traceID)
		if err != nil || len(evs) != 1 || evs[0].Dataset != Dataset {
			t.Errorf("store.Trace: %d events, err %v", len(evs), err)
		}
	}
}

func randomTraceID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// TestRollbarGoClient runs the real rollbar-go client (testdata/rollbargo,
// its own module) against waggle: a message, an error raised three times
// at one place, a wrapped error (trace_chain), a custom fingerprint and an
// error during a request with a traceparent header.
func TestRollbarGoClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds rollbar-go")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not in PATH")
	}
	e := newTestEnv(t, envOptions{})
	traceID := randomTraceID(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "run", ".")
	cmd.Dir = filepath.Join("testdata", "rollbargo")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "ROLLBAR_ENDPOINT="+e.base+"/api/1/item/",
		"ROLLBAR_TOKEN="+e.serverTok, "TRACE_ID="+traceID)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rollbar-go client: %v\n%s", err, out)
	}
	checkClientItems(t, e, traceID, []wantItem{
		{title: "Hello World!", level: "warning", occurrences: 1},
		{title: "user 1000: database unreachable", level: "error", occurrences: 3},
		{title: "startup: config error code=42", level: "error", occurrences: 1},
		{title: "custom-fp one", level: "error", occurrences: 2, hash: "go-custom-fp"},
		{title: "order lookup failed", level: "error", occurrences: 1, traceLinked: true},
	})
}

// TestRollbarJSNode runs the real rollbar.js (npm rollbar, pinned in
// testdata/node/package-lock.json) under Node against waggle.
func TestRollbarJSNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not in PATH")
	}
	dir := filepath.Join("testdata", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "rollbar")); err != nil {
		npm, err := exec.LookPath("npm")
		if err != nil {
			t.Fatal("node is installed but npm is not")
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	e := newTestEnv(t, envOptions{})
	traceID := randomTraceID(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ROLLBAR_ENDPOINT="+e.base+"/api/1/item/", "ROLLBAR_TOKEN="+e.serverTok, "TRACE_ID="+traceID)
	if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "Api error") {
		t.Fatalf("rollbar.js client: %v\n%s", err, out)
	}
	checkClientItems(t, e, traceID, []wantItem{
		{title: "Hello World!", level: "warning", occurrences: 1},
		{title: "RangeError: index 10*", level: "error", occurrences: 3},
		{title: "Error: outer failed", level: "error", occurrences: 1},
		{title: "Error: fingerprinted *", level: "error", occurrences: 2, hash: "node-custom-fp"},
		{title: "Error: item lookup failed", level: "error", occurrences: 1, traceLinked: true},
	})
}
