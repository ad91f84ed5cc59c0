package ui_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type waggle struct {
	base, key string
	xrayAddr  string
	log       *lockedBuffer
}

// The AWS access key pair the binary is started with (CloudWatch Logs).
const (
	awsKeyID  = "AKIDUITEST0000000001"
	awsSecret = "uiTestSecret/0123456789abcdefghijklmnopqr"
)

// startWaggle builds and starts the real binary.
func startWaggle(t *testing.T) *waggle {
	root, _ := filepath.Abs("../..")
	bin := filepath.Join(t.TempDir(), "waggle")
	build := exec.Command("go", "build", "-o", bin, "./cmd/waggle")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build waggle: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	w := &waggle{base: "http://" + addr, key: "uiTestKey0123456789abcdefABCDEF", xrayAddr: freeUDPAddr(t), log: &lockedBuffer{}}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "WAGGLE_DATA_DIR="+t.TempDir(), "WAGGLE_HTTP_ADDR="+addr,
		"WAGGLE_OTLP_GRPC_ADDR="+freeAddr(t), "WAGGLE_OTLP_HTTP_ADDR="+freeAddr(t), "WAGGLE_XRAY_ADDR="+w.xrayAddr,
		"WAGGLE_API_KEY="+w.key, "WAGGLE_MEMORY_LIMIT=512MiB",
		"WAGGLE_AWS_ACCESS_KEY_ID="+awsKeyID, "WAGGLE_AWS_SECRET_ACCESS_KEY="+awsSecret)
	cmd.Stdout, cmd.Stderr = w.log, w.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		if resp, err := http.Get(w.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return w
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("waggle not healthy:\n%s", w.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeUDPAddr is a free port for both UDP and TCP (the X-Ray daemon
// listens on both).
func freeUDPAddr(t *testing.T) string {
	for range 20 {
		a := freeAddr(t)
		if c, err := net.ListenPacket("udp", a); err == nil {
			c.Close()
			return a
		}
	}
	t.Fatal("no free UDP port")
	return ""
}

func (w *waggle) post(t *testing.T, path string, body any, hdr ...string) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", w.base+path, bytes.NewReader(b))
	req.Header.Set("X-Honeycomb-Team", w.key)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		rb, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, rb)
	}
}

// nearestRank is the engine's percentile: the value of rank
// max(1, n − ⌊n − p·n⌋) in sorted order.
func nearestRank(vs []float64, p float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := float64(len(s))
	r := math.Max(1, n-math.Floor(n-p*n))
	return s[int(r)-1]
}

var setupRE = regexp.MustCompile(`setup_url=(\S+)`)

// TestUI sends known telemetry to a real waggle, checks the session API's
// guards, then drives the UI in headless Chromium (web/e2e/run.mjs).
func TestUI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the binary and a browser")
	}
	w := startWaggle(t)
	m := setupRE.FindStringSubmatch(w.log.String())
	if m == nil {
		t.Fatalf("no setup link logged:\n%s", w.log)
	}
	setupURL := strings.Trim(m[1], `"`)

	// Honeycomb events with known durations per endpoint; slow events of
	// customer "acme" planted in a ten-minute stretch.
	now := time.Now().UTC()
	rng := rand.New(rand.NewPCG(1, 2))
	endpoints := []string{"/cart", "/checkout", "/search"}
	durs := map[string][]float64{}
	var batch []map[string]any
	for i := 0; i < 3000; i++ {
		ts := now.Add(-time.Duration(rng.Int64N(int64(55*time.Minute))) - time.Minute)
		ep := endpoints[rng.IntN(3)]
		d := float64(5 + rng.IntN(120))
		cust := []string{"c1", "c2", "c3", "c4"}[rng.IntN(4)]
		if i%40 == 0 {
			cust = "acme"
		}
		if i%10 == 0 {
			ts = now.Add(-30*time.Minute + time.Duration(rng.Int64N(int64(10*time.Minute))))
			d = float64(800 + rng.IntN(200))
			cust = "acme"
		}
		durs[ep] = append(durs[ep], d)
		batch = append(batch, map[string]any{"time": ts.Format(time.RFC3339Nano), "data": map[string]any{
			"endpoint": ep, "duration_ms": d, "customer": cust, "region": []string{"us", "eu"}[rng.IntN(2)],
			"user_id": fmt.Sprintf("u%03d", i%1000), "status": 200,
		}})
	}
	w.post(t, "/1/batch/shop", batch)
	table := map[string][2]float64{}
	for ep, ds := range durs {
		table[ep] = [2]float64{float64(len(ds)), nearestRank(ds, 0.95)}
	}
	// The SLO the browser creates: SLI duration_ms < 300, target 85% over a
	// day; its figures computed here from the events sent (all within the
	// last hour, so within the period and the 4-hour burn window).
	var good, bad float64
	for _, ds := range durs {
		for _, d := range ds {
			if d < 300 {
				good++
			} else {
				bad++
			}
		}
	}
	const sloTarget = 0.85
	sloBudget := 100 * (1 - bad/((good+bad)*(1-sloTarget)))
	sloCompliance := 100 * good / (good + bad)
	sloBurn := bad / (good + bad) / (1 - sloTarget)

	// An OTLP trace over three services, one span errored, and a log line.
	traceID := "5b8efff798038103d269b633813fc60c"
	start := now.Add(-5 * time.Minute)
	ns := func(d time.Duration) string { return fmt.Sprint(start.Add(d).UnixNano()) }
	span := func(svc, id, parent, name string, s, e time.Duration, errored bool) map[string]any {
		sp := map[string]any{"traceId": traceID, "spanId": id, "parentSpanId": parent, "name": name, "kind": 2,
			"startTimeUnixNano": ns(s), "endTimeUnixNano": ns(e)}
		if errored {
			sp["status"] = map[string]any{"code": 2, "message": "card declined"}
			sp["events"] = []any{map[string]any{"timeUnixNano": ns(e - time.Millisecond), "name": "exception",
				"attributes": []any{map[string]any{"key": "exception.message", "value": map[string]any{"stringValue": "card declined"}}}}}
		}
		return map[string]any{"resource": map[string]any{"attributes": []any{map[string]any{"key": "service.name", "value": map[string]any{"stringValue": svc}}}},
			"scopeSpans": []any{map[string]any{"spans": []any{sp}}}}
	}
	w.post(t, "/v1/traces", map[string]any{"resourceSpans": []any{
		span("frontend", "00f067aa0ba902b7", "", "GET /checkout", 0, 120*time.Millisecond, false),
		span("payments", "b7ad6b7169203331", "00f067aa0ba902b7", "charge card", 10*time.Millisecond, 90*time.Millisecond, true),
		span("db", "c7ad6b7169203332", "b7ad6b7169203331", "SELECT cart", 20*time.Millisecond, 40*time.Millisecond, false),
		span("frontend", "d7ad6b7169203333", "00f067aa0ba902b7", "render", 95*time.Millisecond, 115*time.Millisecond, false),
	}})
	w.post(t, "/v1/logs", map[string]any{"resourceLogs": []any{map[string]any{
		"resource": map[string]any{"attributes": []any{map[string]any{"key": "service.name", "value": map[string]any{"stringValue": "payments"}}}},
		"scopeLogs": []any{map[string]any{"logRecords": []any{map[string]any{
			"timeUnixNano": ns(50 * time.Millisecond), "severityText": "ERROR", "severityNumber": 17,
			"body": map[string]any{"stringValue": "payment gateway said no"}, "traceId": traceID, "spanId": "b7ad6b7169203331"}}}}}}})

	// The same trace continued by an X-Ray segment (the ledger service,
	// called by "charge card"), sent over UDP like the X-Ray daemon's
	// clients do, with the trace id in X-Ray's form.
	xrayID := "1-" + traceID[:8] + "-" + traceID[8:]
	sec := func(d time.Duration) float64 { return float64(start.Add(d).UnixNano()) / 1e9 }
	seg, _ := json.Marshal(map[string]any{"trace_id": xrayID, "id": "e7ad6b7169203334", "parent_id": "b7ad6b7169203331",
		"name": "ledger", "start_time": sec(50 * time.Millisecond), "end_time": sec(80 * time.Millisecond), "origin": "AWS::EC2::Instance",
		"http": map[string]any{"request": map[string]any{"method": "POST", "url": "http://ledger/entries"}, "response": map[string]any{"status": 200}}})
	uc, err := net.Dial("udp", w.xrayAddr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uc.Write(append([]byte(`{"format": "json", "version": 1}`+"\n"), seg...)); err != nil {
		t.Fatal(err)
	}
	uc.Close()

	// An error occurrence (Rollbar's item API; a waggle key is a Rollbar
	// token) in the same trace, with a stack trace of library and app
	// frames.
	w.post(t, "/api/1/item/", map[string]any{"access_token": w.key, "data": map[string]any{
		"environment": "production", "level": "error", "platform": "linux", "language": "python", "framework": "flask",
		"body": map[string]any{"trace": map[string]any{
			"exception": map[string]any{"class": "CardDeclined", "message": "card declined by issuer"},
			"frames": []any{
				map[string]any{"filename": "/usr/lib/python3/dist-packages/flask/app.py", "lineno": 1516, "method": "full_dispatch_request"},
				map[string]any{"filename": "/srv/shop/payments.py", "lineno": 42, "method": "charge", "code": "raise CardDeclined(resp.reason)"},
			}}},
	}}, "traceparent", "00-"+traceID+"-b7ad6b7169203331-01")

	// Log lines through the CloudWatch Logs API, SigV4-signed.
	cwl := func(op string, body any) {
		b, _ := json.Marshal(body)
		sum := sha256.Sum256(b)
		req, _ := http.NewRequest("POST", w.base+"/", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Logs_20140328."+op)
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: awsKeyID, SecretAccessKey: awsSecret},
			req, hex.EncodeToString(sum[:]), "logs", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("CloudWatch Logs %s: %d %s", op, resp.StatusCode, rb)
		}
	}
	cwl("CreateLogGroup", map[string]any{"logGroupName": "/shop/api"})
	cwl("CreateLogStream", map[string]any{"logGroupName": "/shop/api", "logStreamName": "web-1"})
	var lines []map[string]any
	for i := range 20 {
		msg := fmt.Sprintf("INFO GET /cart 200 %d ms", 5+i)
		if i == 13 {
			msg = "ERROR payment gateway timeout order=A-1013"
		}
		lines = append(lines, map[string]any{"timestamp": now.Add(-3*time.Minute + time.Duration(i)*time.Second).UnixMilli(), "message": msg})
	}
	cwl("PutLogEvents", map[string]any{"logGroupName": "/shop/api", "logStreamName": "web-1", "logEvents": lines})

	t.Run("session API guards", func(t *testing.T) { sessionGuards(t, w, setupURL) })

	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: browser test skipped")
	}
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("chromium is not installed (/usr/bin/chromium): browser test skipped")
	}
	if _, err := os.Stat("../../web/node_modules/playwright-core"); err != nil {
		npm := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		npm.Dir = "../../web"
		if out, err := npm.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	artifacts, _ := filepath.Abs("../../test/artifacts/ui")
	expect, _ := json.Marshal(map[string]any{
		"table":            table,
		"bubbleup_top":     "customer",
		"bubbleup_value":   "acme",
		"trace_root":       "GET /checkout",
		"trace_tree":       [][2]any{{0, "GET /checkout"}, {1, "charge card"}, {2, "SELECT cart"}, {1, "render"}},
		"trace_error_span": "charge card",
		"trace_log":        "payment gateway said no",
		"xray_span":        "ledger",
		"trace_id":         traceID,
		"error_title":      "CardDeclined: card declined by issuer",
		"log_group":        "/shop/api",
		"log_pattern":      "ERROR timeout",
		"log_line":         "ERROR payment gateway timeout order=A-1013",
		"slo": map[string]any{
			"alias": "fast_request", "expression": "$duration_ms < 300", "bad_expression": "$duraton_ms < 300",
			"name": "Shop latency", "target": "85", "period": "1",
			"budget": fmt.Sprintf("%.2f%%", sloBudget), "compliance": fmt.Sprintf("%.3f%%", sloCompliance),
			"burn": fmt.Sprintf("%.2f×", sloBurn),
		},
	})
	cmd := exec.Command("node", "e2e/run.mjs")
	cmd.Dir = "../../web"
	cmd.Env = append(os.Environ(), "WAGGLE_URL="+w.base, "SETUP_URL="+setupURL, "E2E_EXPECT="+string(expect),
		"ARTIFACTS="+artifacts, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser test:\n%s", out)
	if err != nil {
		t.Fatalf("browser test failed: %v\nserver log:\n%s", err, tail(w.log.String(), 4000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// sessionGuards checks the session API without a browser: the setup link
// is single use, CSRF and Origin are enforced, API keys are not sessions.
func sessionGuards(t *testing.T, w *waggle, setupURL string) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	do := func(method, path string, hdr map[string]string, body any) (int, map[string]any) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, w.base+path, rd)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	// Before the owner exists: the API is closed, the session says setup is needed.
	if st, s := do("GET", "/ui/api/session", nil, nil); st != 200 || s["setup_needed"] != true {
		t.Fatalf("session before setup: %d %v", st, s)
	}
	if st, _ := do("POST", "/ui/api/1/queries/shop", map[string]string{"X-Waggle-CSRF": "x", "X-Honeycomb-Team": w.key}, map[string]any{}); st != 401 {
		t.Fatalf("session API with an API key and no session: %d, want 401", st)
	}
	// A guessed token is refused; a cross-site setup is refused.
	if st, _ := do("POST", "/ui/api/setup", map[string]string{"X-Waggle-CSRF": "1"}, map[string]any{"token": "guess", "email": "x@y.z", "password": "12345678"}); st != 403 {
		t.Fatalf("setup with a wrong token: %d", st)
	}
	tok := setupURL[strings.Index(setupURL, "#token=")+len("#token="):]
	if st, _ := do("POST", "/ui/api/setup", map[string]string{"X-Waggle-CSRF": "1", "Origin": "http://evil.example"}, map[string]any{"token": tok, "email": "x@y.z", "password": "12345678"}); st != 403 {
		t.Fatalf("cross-origin setup: %d", st)
	}
	if st, _ := do("POST", "/ui/api/login", nil, map[string]any{"email": "x@y.z", "password": "12345678"}); st != 403 {
		t.Fatalf("login without the CSRF header: %d", st)
	}
	// The bubbleup API with a key works (it needs no browser).
	b, _ := json.Marshal(map[string]any{"query": map[string]any{"time_range": 3600, "granularity": 60}, "column": "duration_ms",
		"selection": map[string]any{"start": time.Now().Add(-31 * time.Minute).Unix(), "end": time.Now().Add(-19 * time.Minute).Unix(), "min": 700, "max": 2000}})
	req, _ := http.NewRequest("POST", w.base+"/api/v1/bubbleup/shop", bytes.NewReader(b))
	req.Header.Set("X-Honeycomb-Team", w.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var bu struct {
		SelectionCount float64 `json:"selection_count"`
		Columns        []struct {
			Column string `json:"column"`
		} `json:"columns"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&bu)
	resp.Body.Close()
	if resp.StatusCode != 200 || bu.SelectionCount != 300 || len(bu.Columns) == 0 || bu.Columns[0].Column != "customer" {
		t.Fatalf("bubbleup with an API key: %d %+v", resp.StatusCode, bu)
	}
}
