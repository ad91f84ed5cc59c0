package cloudwatchlogs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
)

// jsClientDir holds the pinned AWS SDK for JavaScript v3 CloudWatch Logs
// client (package.json and package-lock.json) and the script that drives it.
const jsClientDir = "testdata/jsclient"

// installJSClient runs npm ci unless node_modules is there already.
func installJSClient(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(jsClientDir, "node_modules", "@aws-sdk", "client-cloudwatch-logs")); err == nil {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		tb.Fatalf("node is installed but npm is not: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = jsClientDir
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("npm ci in %s: %v\n%s", jsClientDir, err, out)
	}
}

// jsMessage is logs.js's message of event i of stream web-1.
func jsMessage(i int) string {
	if i%10 == 0 {
		return fmt.Sprintf(`{"level":"ERROR","latency":%d,"n":%d,"user":{"id":%d}}`, i, i, i%3)
	}
	return fmt.Sprintf("line %d INFO ok", i)
}

// TestJSClient runs @aws-sdk/client-cloudwatch-logs (Node), configured only
// through AWS_* environment variables with the endpoint in
// AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: it creates a group and streams, puts
// events (some rejected as too old, too new or expired), reads them back with
// GetLogEvents and FilterLogEvents, and the test checks what the client saw
// and what the store holds. The pipeline writes through the store's event
// time policy, as a server's does, so this also checks that the policy drops
// nothing CloudWatch Logs accepted.
func TestJSClient(t *testing.T) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the AWS SDK for JavaScript test needs it")
	}
	installJSClient(t)
	e := newTestEnv(t)
	pipe := ingest.New(store.WithTimePolicy(e.store, time.Now), ingest.Config{MemoryBudget: 512 << 20})
	t.Cleanup(pipe.Close)
	e.api.Pipeline = pipe

	base := time.Now().Add(-30 * time.Minute).Truncate(time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, "logs.js")
	cmd.Dir = jsClientDir
	cmd.Env = append(awsEnv(t, testSecret),
		"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS="+e.srv.URL,
		"BASE_TIME_MS="+strconv.FormatInt(base.UnixMilli(), 10),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node logs.js: %v\n%s", err, stderr.String())
	}
	type msg struct {
		S  string `json:"s"`
		T  int64  `json:"t"`
		M  string `json:"m"`
		ID string `json:"id"`
	}
	var seen struct {
		DuplicateGroup string `json:"duplicateGroup"`
		MissingStream  string `json:"missingStream"`
		Puts           []struct {
			Token    string         `json:"token"`
			Rejected map[string]int `json:"rejected"`
		} `json:"puts"`
		Rejected          map[string]int `json:"rejected"`
		BackfillRejected  map[string]int `json:"backfillRejected"`
		BackfillTime      int64          `json:"backfillTime"`
		RetentionRejected map[string]int `json:"retentionRejected"`
		WidenedRejected   map[string]int `json:"widenedRejected"`
		RetentionEvents   []string       `json:"retentionEvents"`
		Forward           struct {
			Pages, Count int
			Events       []struct {
				T   int64  `json:"t"`
				M   string `json:"m"`
				Ing bool   `json:"ing"`
			}
		} `json:"forward"`
		Tail       []string `json:"tail"`
		JSONFilter struct {
			Pages  int   `json:"pages"`
			Events []msg `json:"events"`
		} `json:"jsonFilter"`
		TermFilter []msg `json:"termFilter"`
		All        struct {
			Count   int            `json:"count"`
			Streams map[string]int `json:"streams"`
		} `json:"all"`
		Streams []struct {
			Name        string `json:"name"`
			First, Last int64
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &seen); err != nil {
		t.Fatalf("output %q: %v\n%s", out, err, stderr.String())
	}
	b := base.UnixMilli()

	if seen.DuplicateGroup != "ResourceAlreadyExistsException" || seen.MissingStream != "ResourceNotFoundException" {
		t.Errorf("duplicate group: %s, missing stream: %s", seen.DuplicateGroup, seen.MissingStream)
	}
	if len(seen.Puts) != 2 || seen.Puts[0].Token != "string" || seen.Puts[0].Rejected != nil || seen.Puts[1].Token != "string" || seen.Puts[1].Rejected != nil {
		t.Errorf("puts: %+v", seen.Puts)
	}
	if !reflect.DeepEqual(seen.Rejected, map[string]int{"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 4}) {
		t.Errorf("rejectedLogEventsInfo = %v", seen.Rejected)
	}
	if seen.BackfillRejected != nil || seen.WidenedRejected != nil {
		t.Errorf("backfill rejected %v, widened retention rejected %v", seen.BackfillRejected, seen.WidenedRejected)
	}
	if !reflect.DeepEqual(seen.RetentionRejected, map[string]int{"expiredLogEventEndIndex": 1}) {
		t.Errorf("1-day retention: rejectedLogEventsInfo = %v", seen.RetentionRejected)
	}
	if !reflect.DeepEqual(seen.RetentionEvents, []string{"old but kept", "fresh"}) {
		t.Errorf("retention group events %q", seen.RetentionEvents)
	}

	// GetLogEvents: all 300 in order, 70 a page, then the repeated token.
	if seen.Forward.Count != 300 || len(seen.Forward.Events) != 300 || seen.Forward.Pages != 6 {
		t.Fatalf("forward: %d events in %d pages", seen.Forward.Count, seen.Forward.Pages)
	}
	for i, ev := range seen.Forward.Events {
		if ev.T != b+int64(i)*10 || ev.M != jsMessage(i) || !ev.Ing {
			t.Fatalf("forward event %d: %+v", i, ev)
		}
	}
	var wantTail []string
	for i := 275; i < 300; i++ {
		wantTail = append(wantTail, jsMessage(i))
	}
	if !reflect.DeepEqual(seen.Tail, wantTail) {
		t.Errorf("tail %q", seen.Tail)
	}

	// FilterLogEvents: the JSON pattern matches i = 100, 110, …, 290 of
	// web-1, each once.
	ids := map[string]bool{}
	var got []int64
	for _, ev := range seen.JSONFilter.Events {
		if ids[ev.ID] || ev.S != "web-1" || len(ev.ID) != 42 {
			t.Fatalf("JSON filter event %+v", ev)
		}
		ids[ev.ID] = true
		i := int((ev.T - b) / 10)
		if ev.M != jsMessage(i) {
			t.Errorf("JSON filter event %+v, want %q", ev, jsMessage(i))
		}
		got = append(got, ev.T)
	}
	if len(got) != 20 || seen.JSONFilter.Pages < 3 || !sort.SliceIsSorted(got, func(i, j int) bool { return got[i] < got[j] }) ||
		got[0] != b+1000 || got[19] != b+2900 {
		t.Errorf("JSON filter: %d events in %d pages: %v", len(got), seen.JSONFilter.Pages, got)
	}
	wantWarn := []msg{{S: "web-2", T: b + 1, M: "WARN disk 80%"}, {S: "web-2", T: b + 2, M: "WARN disk 90%"}}
	if !reflect.DeepEqual(seen.TermFilter, wantWarn) {
		t.Errorf("term filter %+v", seen.TermFilter)
	}
	if seen.All.Count != 305 || !reflect.DeepEqual(seen.All.Streams, map[string]int{"web-1": 300, "web-2": 3, "backfill": 2}) {
		t.Errorf("all events: %+v", seen.All)
	}
	bf := seen.BackfillTime
	wantStreams := fmt.Sprint([]any{
		[]any{"backfill", bf, bf + 1}, []any{"web-1", b, b + 2990}, []any{"web-2", b + 1, b + 3},
	})
	var gotStreams []any
	for _, s := range seen.Streams {
		gotStreams = append(gotStreams, []any{s.Name, s.First, s.Last})
	}
	if fmt.Sprint(gotStreams) != wantStreams {
		t.Errorf("streams %v, want %v", gotStreams, wantStreams)
	}

	// The store: exactly the accepted events, at their timestamps, with
	// their fields; the rejected ones nowhere.
	sctx := ctxT(t)
	ds, err := e.store.Dataset(sctx, e.env.ID, "js-app")
	if err != nil || ds.Retention != neverExpire {
		t.Fatalf("dataset js-app: %+v %v", ds, err)
	}
	res, err := e.store.Execute(sctx, e.env.ID, &query.Plan{
		Datasets: []string{"js-app"},
		Start:    time.Now().Add(-30 * 24 * time.Hour),
		End:      time.Now().Add(30 * 24 * time.Hour),
		Limit:    10000,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 305 {
		t.Fatalf("%d events stored in js-app, want 305", len(res.Events))
	}
	perStream := map[string]int{}
	for _, ev := range res.Events {
		f := map[string]event.Value{}
		for _, fl := range ev.Fields {
			f[fl.Key] = fl.Value
		}
		stream, message, ts := f["@logStream"].Str(), f["@message"].Str(), f["@timestamp"].Int()
		perStream[stream]++
		if ev.Time.UnixMilli() != ts || !ev.Time.Equal(time.UnixMilli(ts)) || f[FieldSignalType].Str() != SignalType ||
			len(f["@eventId"].Str()) != 42 || f["@ingestionTime"].Int() < b {
			t.Errorf("stored event %v %v", ev.Time, f)
		}
		switch stream {
		case "web-1":
			i := int((ts - b) / 10)
			if message != jsMessage(i) {
				t.Errorf("web-1 event at %d: %q, want %q", ts, message, jsMessage(i))
			}
			if i%10 == 0 && (f["level"].Str() != "ERROR" || f["latency"].Int() != int64(i) || f["user.id"].Int() != int64(i%3)) {
				t.Errorf("web-1 JSON event %d fields %v", i, f)
			}
		case "web-2":
			want := map[int64]string{b + 1: "WARN disk 80%", b + 2: "WARN disk 90%", b + 3: "ERROR disk full"}[ts]
			if message != want {
				t.Errorf("web-2 event at %d: %q", ts, message)
			}
		case "backfill":
			if message != "backfill "+strconv.FormatInt(ts-bf+1, 10) {
				t.Errorf("backfill event at %d: %q", ts, message)
			}
		}
		if _, moved := f[store.OriginalTimeField]; moved {
			t.Errorf("event moved by the time policy: %v", f)
		}
	}
	if !reflect.DeepEqual(perStream, map[string]int{"web-1": 300, "web-2": 3, "backfill": 2}) {
		t.Errorf("stored per stream %v", perStream)
	}
}
