package honeycomb

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// libhoneyDir holds the pinned libhoney-js client (package.json and
// package-lock.json) and the script that drives it.
const libhoneyDir = "testdata/libhoney"

// installLibhoney runs npm ci unless node_modules is there already.
func installLibhoney(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(libhoneyDir, "node_modules", "libhoney")); err == nil {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		tb.Fatalf("node is installed but npm is not: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = libhoneyDir
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("npm ci in %s: %v\n%s", libhoneyDir, err, out)
	}
}

// TestLibhoneyJS sends events with the official libhoney-js client (Node)
// and checks that exactly what it sent was stored.
func TestLibhoneyJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the libhoney-js client test needs it")
	}
	installLibhoney(t)

	e := newEventsEnv(t, 0)
	srv := httptest.NewServer(e.handler)
	defer srv.Close()

	const count = 1234
	base := testNow.Add(-10 * time.Minute).Truncate(time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "send.js")
	cmd.Dir = libhoneyDir
	cmd.Env = append(os.Environ(),
		"API_HOST="+srv.URL,
		"WRITE_KEY="+keyFull,
		"BAD_KEY=not-a-key",
		"DATASET=libhoney js",
		"COUNT="+strconv.Itoa(count),
		"BASE_TIME_MS="+strconv.FormatInt(base.UnixMilli(), 10),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node send.js: %v\n%s", err, stderr.String())
	}
	var summary struct {
		Statuses       map[string]int `json:"statuses"`
		Responses      int            `json:"responses"`
		Errors         []string       `json:"errors"`
		BadKeyStatuses []int          `json:"badKeyStatuses"`
	}
	if err := json.Unmarshal(out, &summary); err != nil {
		t.Fatalf("summary %q: %v", out, err)
	}
	if summary.Responses != count+1 || summary.Statuses["202"] != count+1 || len(summary.Errors) != 0 {
		t.Fatalf("client saw %+v", summary)
	}
	if len(summary.BadKeyStatuses) != 1 || summary.BadKeyStatuses[0] != 401 {
		t.Errorf("unknown key: client saw statuses %v, want [401]", summary.BadKeyStatuses)
	}

	evs := e.events(t, "libhoney js")
	if len(evs) != count+1 {
		t.Fatalf("%d events stored, want %d", len(evs), count+1)
	}
	seen := make(map[int64]bool, count)
	for _, ev := range evs {
		f := rawFields(ev)
		i := f["i"].Int()
		if i == -1 {
			if ev.SampleRate != 7 || f["name"] != event.String("presampled") || !ev.Time.Equal(base.Add(-time.Second)) {
				t.Errorf("presampled event: rate %d time %v fields %v", ev.SampleRate, ev.Time, f)
			}
			continue
		}
		if seen[i] {
			t.Errorf("event %d stored twice", i)
		}
		seen[i] = true
		want := map[string]event.Value{
			"i":            event.Int(i),
			"name":         event.String("event " + strconv.FormatInt(i, 10)),
			"duration_ms":  event.Float(float64(i) + 0.5),
			"even":         event.Bool(i%2 == 0),
			"nested":       event.String(`{"a":` + strconv.FormatInt(i, 10) + `,"b":[1,"two"]}`),
			"service.name": event.String("libhoney-test"),
		}
		for k, v := range want {
			if f[k] != v {
				t.Errorf("event %d: %s = %v, want %v", i, k, f[k].Any(), v.Any())
			}
		}
		if _, ok := f["nothing"]; ok {
			t.Errorf("event %d: null field stored", i)
		}
		if len(f) != len(want) {
			t.Errorf("event %d: %d fields, want %d: %v", i, len(f), len(want), f)
		}
		if wantTime := base.Add(time.Duration(i) * time.Millisecond); !ev.Time.Equal(wantTime) || ev.SampleRate != 1 {
			t.Errorf("event %d: time %v rate %d, want %v 1", i, ev.Time, ev.SampleRate, wantTime)
		}
	}
	if len(seen) != count {
		t.Errorf("%d distinct events, want %d", len(seen), count)
	}
}
