package honeycomb

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/waggle-hq/waggle/internal/event"
)

func gzipped(tb testing.TB, p []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(p); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(tb testing.TB, p []byte) []byte {
	tb.Helper()
	// As libhoney-go: level 2 ("default"), 64 KiB window.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(1<<16))
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(p, nil)
}

// checkResponse checks a response's status and exact body.
func checkResponse(tb testing.TB, w *httptest.ResponseRecorder, status int, body string) {
	tb.Helper()
	if w.Code != status || strings.TrimSpace(w.Body.String()) != body {
		tb.Fatalf("got %d %q, want %d %q", w.Code, w.Body.String(), status, body)
	}
}

func TestBatchStoresEvents(t *testing.T) {
	e := newEventsEnv(t, 0)
	t1 := testNow.Add(-time.Minute)
	body := fmt.Sprintf(`[
		{"data":{"i":1,"name":"GET /","duration_ms":12.5,"ok":true,"big":9223372036854775807,"nested":{"a":[1,2]},"gone":null},"time":%q,"samplerate":5},
		{"data":{"i":2},"time":%d},
		{"data":{}},
		{"data":{"i":3}}
	]`, t1.Format(time.RFC3339Nano), t1.Add(time.Second).UnixMilli())
	w := e.post(t, "/1/batch/MyDataset", keyFull, []byte(body), "Content-Type", "application/json")
	checkResponse(t, w, 200, `[{"status":202},{"status":202},{"status":400,"error":"Request body should not be empty."},{"status":202}]`)
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	evs := e.events(t, "mydataset")
	if len(evs) != 3 {
		t.Fatalf("%d events stored, want 3", len(evs))
	}
	f := rawFields(evs[0])
	if !evs[0].Time.Equal(t1) || evs[0].SampleRate != 5 {
		t.Errorf("event 1: time %v rate %d", evs[0].Time, evs[0].SampleRate)
	}
	want := map[string]event.Value{
		"i": event.Int(1), "name": event.String("GET /"), "duration_ms": event.Float(12.5), "ok": event.Bool(true),
		"big": event.Int(9223372036854775807), "nested": event.String(`{"a":[1,2]}`),
	}
	for k, v := range want {
		if got := f[k]; got != v {
			t.Errorf("field %s = %v, want %v", k, got.Any(), v.Any())
		}
	}
	if _, ok := f["gone"]; ok {
		t.Error("null field stored")
	}
	if !evs[1].Time.Equal(t1.Add(time.Second).Truncate(time.Millisecond)) || rawFields(evs[1])["i"] != event.Int(2) {
		t.Errorf("event 2: time %v fields %v", evs[1].Time, evs[1].Fields)
	}
	if !evs[2].Time.Equal(testNow) || evs[2].SampleRate != 1 {
		t.Errorf("event 3: time %v (want receive time) rate %d", evs[2].Time, evs[2].SampleRate)
	}
}

func TestBatchEncodings(t *testing.T) {
	e := newEventsEnv(t, 0)
	jsonBody := []byte(`[{"data":{"enc":"x","n":1}},{"data":{"enc":"x","n":2}}]`)
	ts := testNow.Add(-time.Hour)
	mpBody := mustMsgpack(t, []mpEvent{{Data: map[string]any{"enc": "x", "n": 1}, Timestamp: &ts}, {Data: map[string]any{"enc": "x", "n": 2}, SampleRate: 3}})
	cases := []struct {
		name    string
		body    []byte
		headers []string
	}{
		{"json", jsonBody, nil},
		{"json gzip", gzipped(t, jsonBody), []string{"Content-Encoding", "gzip"}},
		{"json zstd", zstded(t, jsonBody), []string{"Content-Encoding", "zstd"}},
		{"msgpack", mpBody, []string{"Content-Type", "application/msgpack"}},
		{"x-msgpack", mpBody, []string{"Content-Type", "application/x-msgpack"}},
		{"msgpack zstd", zstded(t, mpBody), []string{"Content-Type", "application/msgpack", "Content-Encoding", "zstd"}},
		{"msgpack gzip", gzipped(t, mpBody), []string{"Content-Type", "application/msgpack; charset=binary", "Content-Encoding", "gzip"}},
		{"form content type is JSON", jsonBody, []string{"Content-Type", "application/x-www-form-urlencoded"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := "enc-" + strings.ReplaceAll(tc.name, " ", "-")
			w := e.post(t, "/1/batch/"+ds, keyFull, tc.body, tc.headers...)
			checkResponse(t, w, 200, `[{"status":202},{"status":202}]`)
			evs := e.events(t, ds)
			if len(evs) != 2 {
				t.Fatalf("%d events stored", len(evs))
			}
			sum := int64(0)
			for _, ev := range evs {
				f := rawFields(ev)
				sum += f["n"].Int()
				if f["enc"] != event.String("x") {
					t.Errorf("enc = %v", f["enc"].Any())
				}
			}
			if sum != 3 {
				t.Errorf("n values sum to %d", sum)
			}
			if strings.Contains(tc.name, "msgpack") {
				if !evs[0].Time.Equal(ts) || evs[1].SampleRate != 3 {
					t.Errorf("msgpack time %v rate %d", evs[0].Time, evs[1].SampleRate)
				}
			}
		})
	}
}

func TestSingleEvent(t *testing.T) {
	e := newEventsEnv(t, 0)
	w := e.post(t, "/1/events/single", keyFull, []byte(`{"method":"GET","duration_ms":32,"shard":"users"}`),
		"X-Honeycomb-Event-Time", "1748779140.5", "X-Honeycomb-Samplerate", "20")
	checkResponse(t, w, 200, "")
	w = e.post(t, "/1/events/single", keyFull, gzipped(t, []byte(`{"method":"POST"}`)),
		"Content-Encoding", "gzip", "X-Honeycomb-Samplerate", "nope", "X-Honeycomb-Event-Time", "garbage")
	checkResponse(t, w, 200, "")
	w = e.post(t, "/1/events/single", keyFull, mustMsgpack(t, map[string]any{"method": "PUT"}),
		"Content-Type", "application/msgpack", "X-Honeycomb-Event-Time", "2025-06-01T11:59:59Z")
	checkResponse(t, w, 200, "")
	evs := e.events(t, "single")
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	byMethod := map[string]int{}
	for i, ev := range evs {
		byMethod[rawFields(ev)["method"].Str()] = i
	}
	get, post, put := evs[byMethod["GET"]], evs[byMethod["POST"]], evs[byMethod["PUT"]]
	if !get.Time.Equal(time.Unix(1748779140, 5e8)) || get.SampleRate != 20 || rawFields(get)["duration_ms"] != event.Int(32) {
		t.Errorf("GET: time %v rate %d fields %v", get.Time, get.SampleRate, get.Fields)
	}
	if !post.Time.Equal(testNow) || post.SampleRate != 1 {
		t.Errorf("POST: time %v rate %d", post.Time, post.SampleRate)
	}
	if !put.Time.Equal(time.Date(2025, 6, 1, 11, 59, 59, 0, time.UTC)) {
		t.Errorf("PUT: time %v", put.Time)
	}
}

func TestEventsErrors(t *testing.T) {
	e := newEventsEnv(t, 0)
	// A dataset that exists, for the key that may not create datasets.
	checkResponse(t, e.post(t, "/1/batch/existing", keyFull, []byte(`[{"data":{"a":1}}]`)), 200, `[{"status":202}]`)

	var wide strings.Builder
	wide.WriteString("{")
	for i := 0; i <= event.MaxFieldsPerEvent; i++ {
		if i > 0 {
			wide.WriteString(",")
		}
		fmt.Fprintf(&wide, `"f%d":1`, i)
	}
	wide.WriteString("}")
	bigEvent := []byte(`{"s":"` + strings.Repeat("x", 1<<20) + `"}`)
	bomb := gzipped(t, append(append([]byte(`[{"data":{"s":"`), make([]byte, 30<<20)...), `"}}]`...))

	const (
		empty     = `{"error":"Request body should not be empty."}`
		malformed = `{"error":"Request body is malformed and cannot be read."}`
		tooLarge  = `{"error":"Request body is too large."}`
		notFound  = `{"error":"dataset not found"}`
		unknown   = `{"error":"unknown API key - check your credentials"}`
	)
	cases := []struct {
		name    string
		path    string
		key     string
		body    []byte
		headers []string
		status  int
		want    string
	}{
		{"no key", "/1/batch/ds", "", []byte(`[]`), nil, 401, unknown},
		{"unknown key", "/1/batch/ds", "wrong", []byte(`[]`), nil, 401, unknown},
		{"key without send permission", "/1/batch/ds", keyQuery, []byte(`[]`), nil, 401, `{"error":"API key is missing the permission: send_events"}`},
		{"empty batch body", "/1/batch/ds", keyFull, nil, nil, 400, empty},
		{"empty event body", "/1/events/ds", keyFull, nil, nil, 400, empty},
		{"malformed batch", "/1/batch/ds", keyFull, []byte(`[{"data":`), nil, 400, malformed},
		{"batch not an array", "/1/batch/ds", keyFull, []byte(`{"data":{"a":1}}`), nil, 400, malformed},
		{"malformed event", "/1/events/ds", keyFull, []byte(`{"a":`), nil, 400, malformed},
		{"event not an object", "/1/events/ds", keyFull, []byte(`[{"a":1}]`), nil, 400, malformed},
		{"event without fields", "/1/events/ds", keyFull, []byte(`{}`), nil, 400, empty},
		{"event too many columns", "/1/events/ds", keyFull, []byte(wide.String()), nil, 400, `{"error":"Event has too many columns."}`},
		{"event too large", "/1/events/ds", keyFull, bigEvent, nil, 400, tooLarge},
		{"batch zip bomb", "/1/batch/ds", keyFull, bomb, []string{"Content-Encoding", "gzip"}, 400, tooLarge},
		{"unknown encoding", "/1/batch/ds", keyFull, []byte(`[]`), []string{"Content-Encoding", "br"}, 400, malformed},
		{"encoding header lies", "/1/batch/ds", keyFull, []byte(`[{"data":{"a":1}}]`), []string{"Content-Encoding", "gzip"}, 400, malformed},
		{"zstd header lies", "/1/batch/ds", keyFull, gzipped(t, []byte(`[]`)), []string{"Content-Encoding", "zstd"}, 400, malformed},
		{"malformed msgpack", "/1/batch/ds", keyFull, []byte{0x92, 0x81}, []string{"Content-Type", "application/msgpack"}, 400, malformed},
		{"missing dataset, no create permission", "/1/batch/nope", keySendOnly, []byte(`[{"data":{"a":1}}]`), nil, 404, notFound},
		{"existing dataset, no create permission", "/1/batch/Existing", keySendOnly, []byte(`[{"data":{"a":1}}]`), nil, 200, `[{"status":202}]`},
		{"encoded slash in dataset", "/1/batch/a%2Fb", keyFull, []byte(`[{"data":{"a":1}}]`), nil, 404, notFound},
		{"slash in dataset", "/1/batch/a/b", keyFull, []byte(`[{"data":{"a":1}}]`), nil, 404, notFound},
		{"no dataset", "/1/batch/", keyFull, []byte(`[{"data":{"a":1}}]`), nil, 404, notFound},
		{"dataset name too long", "/1/events/" + strings.Repeat("d", 300), keyFull, []byte(`{"a":1}`), nil, 404, notFound},
		{"empty array", "/1/batch/ds", keyFull, []byte(`[]`), nil, 200, `[]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkResponse(t, e.post(t, tc.path, tc.key, tc.body, tc.headers...), tc.status, tc.want)
		})
	}
	if n := len(e.events(t, "nope")); n != 0 {
		t.Errorf("%d events stored in a dataset the key could not create", n)
	}
	if n := len(e.events(t, "existing")); n != 2 {
		t.Errorf("%d events in existing, want 2", n)
	}
	if n := len(e.events(t, "ds")); n != 0 {
		t.Errorf("%d events stored by failed requests", n)
	}
}

func TestEventsDatasetNames(t *testing.T) {
	e := newEventsEnv(t, 0)
	for _, path := range []string{"/1/batch/My%20Dataset", "/1/batch/my%20dataset", "/1/batch/MY%20DATASET"} {
		checkResponse(t, e.post(t, path, keyFull, []byte(`[{"data":{"a":1}}]`)), 200, `[{"status":202}]`)
	}
	if n := len(e.events(t, "my-dataset")); n != 3 {
		t.Errorf("%d events under slug my-dataset, want 3", n)
	}
}

func TestEventsOverloaded(t *testing.T) {
	e := newEventsEnv(t, 1<<20)
	// Someone else holds the whole budget.
	if !e.pipe.Budget().TryAcquire(1 << 20) {
		t.Fatal("cannot take the budget")
	}
	for _, path := range []string{"/1/batch/ds", "/1/events/ds"} {
		body := `[{"data":{"a":1}}]`
		if strings.HasPrefix(path, "/1/events") {
			body = `{"a":1}`
		}
		w := e.post(t, path, keyFull, []byte(body))
		checkResponse(t, w, 429, `{"error":"Request dropped due to rate limiting."}`)
		if ra := w.Header().Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q", ra)
		}
	}
	e.pipe.Budget().Release(1 << 20)
	checkResponse(t, e.post(t, "/1/batch/ds", keyFull, []byte(`[{"data":{"a":1}}]`)), 200, `[{"status":202}]`)
	if u := e.pipe.Budget().Used(); u != 0 {
		t.Errorf("budget holds %d bytes after the requests", u)
	}
}

// TestEventsLargerThanBudget checks that a batch bigger than the whole
// budget still goes through on an idle server.
func TestEventsLargerThanBudget(t *testing.T) {
	e := newEventsEnv(t, 64<<10)
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i < 2000; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"data":{"i":%d,"s":"%s"}}`, i, strings.Repeat("y", 100))
	}
	b.WriteString("]")
	w := e.post(t, "/1/batch/big", keyFull, []byte(b.String()))
	if w.Code != 200 {
		t.Fatalf("status %d %s", w.Code, w.Body.String())
	}
	if n := len(e.events(t, "big")); n != 2000 {
		t.Errorf("%d events", n)
	}
}

func TestEventsCORS(t *testing.T) {
	e := newEventsEnv(t, 0)
	r := httptest.NewRequest(http.MethodOptions, "/1/batch/browser", nil)
	r.Header.Set("Origin", "https://app.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type,x-honeycomb-team,x-honeycomb-useragent")
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	if w.Code != http.StatusNoContent {
		t.Fatalf("preflight status %d", w.Code)
	}
	h := w.Header()
	if h.Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight headers %v", h)
	}
	allowed := strings.ToLower(h.Get("Access-Control-Allow-Headers"))
	for _, want := range []string{"content-type", "content-encoding", "x-honeycomb-team", "x-honeycomb-useragent", "x-honeycomb-event-time", "x-honeycomb-samplerate"} {
		if !strings.Contains(allowed, want) {
			t.Errorf("header %s not allowed: %q", want, allowed)
		}
	}
	for _, key := range []string{keyFull, "wrong"} {
		w := e.post(t, "/1/events/browser", key, []byte(`{"a":1}`), "Origin", "https://app.example", "X-Honeycomb-UserAgent", "libhoney-js/4.3.1")
		if w.Header().Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Errorf("key %s: status %d without CORS headers", key, w.Code)
		}
	}
}

func TestEventsMethodNotAllowed(t *testing.T) {
	e := newEventsEnv(t, 0)
	r := httptest.NewRequest(http.MethodGet, "/1/batch/ds", nil)
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET status %d", w.Code)
	}
}
