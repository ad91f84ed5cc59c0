package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
)

// debianPython is the interpreter Debian's python3-aws-xray-sdk and
// python3-flask are installed for (not the python3 first on PATH).
const debianPython = "/usr/bin/python3"

func needDebianXRay(t *testing.T) {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import aws_xray_sdk, flask, botocore").Run(); err != nil {
		t.Skipf("%s with python3-aws-xray-sdk, python3-flask, python3-botocore: %v", debianPython, err)
	}
}

// syncBuf is a goroutine-safe buffer for a subprocess's output.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// hcQuery runs a Honeycomb query on dataset and returns the result rows.
func hcQuery(t *testing.T, base, dataset, spec string) []map[string]any {
	t.Helper()
	call := func(method, path, body string, out any) {
		r, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		r.Header.Set("X-Honeycomb-Team", sdkKey)
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %s", path, b)
		}
	}
	var q struct{ ID string }
	call("POST", "/1/queries/"+dataset, spec, &q)
	var res struct {
		ID       string `json:"id"`
		Complete bool   `json:"complete"`
		Data     struct {
			Results []struct {
				Data map[string]any `json:"data"`
			} `json:"results"`
		} `json:"data"`
	}
	call("POST", "/1/query_results/"+dataset, `{"query_id":"`+q.ID+`","disable_series":true}`, &res)
	for i := 0; i < 100; i++ {
		res.Complete = false
		call("GET", "/1/query_results/"+dataset+"/"+res.ID, "", &res)
		if res.Complete {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var rows []map[string]any
	for _, r := range res.Data.Results {
		rows = append(rows, r.Data)
	}
	return rows
}

// TestXRayPythonFlaskSeed runs the seed's Flask app (week 2:
// xray_recorder.configure(service='Cruddur', dynamic_naming=xray_url) and
// XRayMiddleware(app, xray_recorder), verbatim) under Debian's
// python3-aws-xray-sdk 0.95 and python3-flask 2.2 in a real werkzeug server
// whose only change is AWS_XRAY_DAEMON_ADDRESS = waggle's daemon. It drives
// it over HTTP (a normal route under a host that matches AWS_XRAY_URL and
// one that does not, a route that raises, a route with a custom subsegment
// and annotations, a route with more subsegments than the SDK keeps, so it
// streams them) and reads everything back through the Honeycomb query API,
// the trace API and the X-Ray API. It also runs the centralized-sampling
// calls of the 2.x SDK (botocore, unsigned) against the daemon's TCP port.
func TestXRayPythonFlaskSeed(t *testing.T) {
	needDebianXRay(t)
	srv := startXRayNode(t)
	base := "http://" + srv.HTTPAddr()
	app, err := filepath.Abs("../xray/testdata/flaskapp/app.py")
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	var stderr syncBuf
	cmd := exec.Command(debianPython, app)
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + cmd.Dir, "LANG=C.UTF-8",
		"AWS_XRAY_DAEMON_ADDRESS=" + srv.XRayAddr(),
		"AWS_XRAY_URL=*4567-myws.gitpod.io*",
		fmt.Sprintf("PORT=%d", port)}
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	appURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flask did not start: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Each request names its trace (Root=…;Sampled=1): the SDK then samples
	// it whatever its local rule (0.95 has only 1/s + 5 %) says.
	now := time.Now()
	ids := map[string]string{} // request → W3C trace id
	get := func(name, path, host string, wantStatus int) {
		t.Helper()
		hex := fmt.Sprintf("%08x%024x", now.Unix(), len(ids)+1)
		ids[name] = hex
		r, _ := http.NewRequest("GET", appURL+path, nil)
		if host != "" {
			r.Host = host
		}
		r.Header.Set("X-Amzn-Trace-Id", "Root=1-"+hex[:8]+"-"+hex[8:]+";Sampled=1")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	get("gitpod", "/api/activities/home", "4567-myws.gitpod.io", 200)
	get("home", "/api/activities/home", "", 200)
	get("boom", "/api/boom", "", 500)
	get("andrew", "/api/activities/andrew", "", 200)
	get("many", "/api/many", "", 200)

	// The trace API: every span of the streamed trace under Cruddur.
	type span struct {
		Name, Service string
		ParentID      string `json:"parent_id"`
	}
	var tr struct {
		SpanCount int      `json:"span_count"`
		Services  []string `json:"services"`
		Spans     []span   `json:"spans"`
	}
	traceAPI := func(hex string, want int) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			r, _ := http.NewRequest("GET", base+"/api/v1/traces/"+hex, nil)
			r.Header.Set("X-Honeycomb-Team", sdkKey)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tr.SpanCount = 0
			_ = json.Unmarshal(b, &tr)
			if tr.SpanCount >= want || time.Now().After(deadline) {
				if tr.SpanCount != want {
					t.Fatalf("trace %s: %d spans, want %d: %s\n%s", hex, tr.SpanCount, want, b, stderr.String())
				}
				return
			}
		}
	}
	traceAPI(ids["many"], 41)
	steps := 0
	for _, s := range tr.Spans {
		if strings.HasPrefix(s.Name, "step-") && s.Service == "Cruddur" {
			steps++
		}
	}
	if steps != 40 || strings.Join(tr.Services, ",") != "Cruddur" {
		t.Fatalf("streamed subsegments: %d under Cruddur, services %v", steps, tr.Services)
	}
	traceAPI(ids["andrew"], 2)
	traceAPI(ids["boom"], 2)
	traceAPI(ids["gitpod"], 1)
	if strings.Join(tr.Services, ",") != "4567-myws.gitpod.io" {
		t.Fatalf("dynamic naming: %v", tr.Services)
	}
	traceAPI(ids["home"], 1)

	// The Honeycomb query API: datasets named by dynamic naming, http
	// fields, fault, the exception, the annotations.
	rows := hcQuery(t, base, "Cruddur", `{"calculations":[{"op":"COUNT"}],"breakdowns":["name","http.status_code","fault","error"],
		"filters":[{"column":"xray.type","op":"=","value":"segment"}],"time_range":600}`)
	sort.Slice(rows, func(i, j int) bool { return fmt.Sprint(rows[i]) < fmt.Sprint(rows[j]) })
	if got := fmt.Sprint(rows); got != "[map[COUNT:1 error:true fault:true http.status_code:500 name:Cruddur] map[COUNT:3 error:false fault:<nil> http.status_code:200 name:Cruddur]]" {
		t.Fatalf("segments: %s", got)
	}
	rows = hcQuery(t, base, "Cruddur", `{"calculations":[{"op":"COUNT"}],"breakdowns":["name","exception.type","exception.message","trace.parent_id"],
		"filters":[{"column":"exception.type","op":"exists"}],"time_range":600}`)
	if len(rows) != 1 || rows[0]["name"] != "load-activities" || rows[0]["exception.type"] != "ValueError" || rows[0]["exception.message"] != "kaboom" {
		t.Fatalf("exception: %v", rows)
	}
	rows = hcQuery(t, base, "Cruddur", `{"calculations":[{"op":"COUNT"}],"breakdowns":["name","annotation.handle","annotation.count","xray.namespace","metadata.app"],
		"filters":[{"column":"annotation.handle","op":"exists"}],"time_range":600}`)
	if len(rows) != 1 || rows[0]["name"] != "mock-data" || rows[0]["annotation.handle"] != "andrew" || rows[0]["annotation.count"] != 3.0 ||
		rows[0]["xray.namespace"] != "local" || rows[0]["metadata.app"] != `{"results": {"handle": "andrew", "n": 3}}` && rows[0]["metadata.app"] != `{"results":{"handle":"andrew","n":3}}` {
		t.Fatalf("custom subsegment: %v", rows)
	}
	rows = hcQuery(t, base, "4567-myws.gitpod.io", `{"calculations":[{"op":"COUNT"}],"breakdowns":["http.url","http.method","http.user_agent","http.client_ip","http.response.content_length"],"time_range":600}`)
	if len(rows) != 1 || rows[0]["http.url"] != "http://4567-myws.gitpod.io/api/activities/home" || rows[0]["http.method"] != "GET" ||
		rows[0]["http.user_agent"] != "Go-http-client/1.1" || rows[0]["http.client_ip"] != "127.0.0.1" || rows[0]["COUNT"] != 1.0 {
		t.Fatalf("gitpod: %v", rows)
	}

	// The X-Ray API.
	ctx := context.Background()
	cl := xrayClient(base, xraySecret)
	start, end := now.Add(-time.Minute), now.Add(time.Minute)
	for expr, want := range map[string]int{
		``:                                     5,
		`service("Cruddur")`:                   4,
		`service("4567-myws.gitpod.io")`:       1,
		`service("backend-flask")`:             0, // the seed's group: no segment has that name
		`fault`:                                1,
		`http.status = 500`:                    1,
		`service("Cruddur") { fault }`:         1,
		`annotation.handle = "andrew"`:         1,
		`annotation.count = 3`:                 1,
		`http.url CONTAINS "/api/activities/"`: 3,
		`message CONTAINS "kaboom"`:            1,
		`!fault AND responsetime < 5`:          4,
	} {
		res, err := cl.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{StartTime: &start, EndTime: &end, FilterExpression: aws.String(expr)})
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if len(res.TraceSummaries) != want {
			t.Errorf("%s: %d traces, want %d", expr, len(res.TraceSummaries), want)
		}
	}
	boomID := "1-" + ids["boom"][:8] + "-" + ids["boom"][8:]
	sums, err := cl.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{StartTime: &start, EndTime: &end, FilterExpression: aws.String("fault")})
	if err != nil || len(sums.TraceSummaries) != 1 {
		t.Fatal(sums, err)
	}
	if s := sums.TraceSummaries[0]; *s.Id != boomID || !*s.HasFault || *s.Http.HttpStatus != 500 || *s.Http.HttpURL != appURL+"/api/boom" ||
		*s.EntryPoint.Name != "Cruddur" {
		t.Fatalf("%+v", s)
	}
	bt, err := cl.BatchGetTraces(ctx, &awsxray.BatchGetTracesInput{TraceIds: []string{boomID, "1-" + ids["many"][:8] + "-" + ids["many"][8:]}})
	if err != nil || len(bt.Traces) != 2 {
		t.Fatal(bt, err)
	}
	for _, trc := range bt.Traces {
		if len(trc.Segments) != 1 {
			t.Fatalf("%s: %d segments", *trc.Id, len(trc.Segments))
		}
		var doc struct {
			Name  string `json:"name"`
			Fault bool   `json:"fault"`
			HTTP  struct {
				Response struct{ Status int } `json:"response"`
			} `json:"http"`
			Subsegments []struct {
				Name  string `json:"name"`
				Fault bool   `json:"fault"`
				Cause struct {
					Exceptions []struct{ Type, Message string } `json:"exceptions"`
				} `json:"cause"`
			} `json:"subsegments"`
		}
		if err := json.Unmarshal([]byte(*trc.Segments[0].Document), &doc); err != nil {
			t.Fatal(err)
		}
		switch *trc.Id {
		case boomID:
			if doc.Name != "Cruddur" || !doc.Fault || doc.HTTP.Response.Status != 500 || len(doc.Subsegments) != 1 ||
				doc.Subsegments[0].Name != "load-activities" || !doc.Subsegments[0].Fault ||
				len(doc.Subsegments[0].Cause.Exceptions) != 1 || doc.Subsegments[0].Cause.Exceptions[0].Type != "ValueError" ||
				doc.Subsegments[0].Cause.Exceptions[0].Message != "kaboom" {
				t.Fatalf("boom: %s", *trc.Segments[0].Document)
			}
		default:
			if len(doc.Subsegments) != 40 {
				t.Fatalf("many: %d subsegments in the document", len(doc.Subsegments))
			}
		}
	}
	// The seed's group "backend-flask" is empty; a group on the names the
	// app really emits is not.
	for name, want := range map[string]string{"backend-flask": "", "cruddur": "Cruddur,client"} {
		expr := `service("backend-flask")`
		if want != "" {
			expr = `service("Cruddur")`
		}
		if _, err := cl.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String(name), FilterExpression: aws.String(expr)}); err != nil {
			t.Fatal(err)
		}
		sg, err := cl.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{StartTime: &start, EndTime: &end, GroupName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range sg.Services {
			names = append(names, *s.Name)
		}
		sort.Strings(names) // X-Ray's graph has a "client" node calling the entry service
		if strings.Join(names, ",") != want {
			t.Errorf("group %s: graph %v", name, names)
		}
	}

	// Centralized sampling as the 2.x SDK does it (botocore, unsigned, on
	// the daemon's TCP port).
	out, err := exec.Command(debianPython, filepath.Join(filepath.Dir(app), "sampling_check.py"), "http://"+srv.XRayAddr()).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var sc struct {
		Rules []struct {
			Name  string
			Valid bool
		}
		Targets []struct {
			Rule     string
			Rate     float64
			Quota    *int
			TTL      float64
			Interval int
		}
		LastModification float64 `json:"last_modification"`
		Unprocessed      []any
	}
	if err := json.Unmarshal(out, &sc); err != nil {
		t.Fatalf("%s", out)
	}
	if len(sc.Rules) != 1 || sc.Rules[0].Name != "Default" || !sc.Rules[0].Valid || len(sc.Targets) != 1 ||
		sc.Targets[0].Rate != 0.05 || sc.Targets[0].Quota == nil || *sc.Targets[0].Quota != 1 || sc.Targets[0].TTL < 10 ||
		sc.Targets[0].Interval != 10 || sc.LastModification <= 0 || len(sc.Unprocessed) != 0 {
		t.Fatalf("sampling: %s", out)
	}

	// The SDK logged no error of its own: the only ERROR lines are Flask's
	// log of the exception and 0.95's teardown handler, which finds its
	// segment already sent by the after_request handler (see the guide).
	var errs []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "ERROR ") {
			errs = append(errs, l)
		}
		if strings.Contains(l, "failed to send data to X-Ray daemon") {
			t.Errorf("emitter: %s", l)
		}
	}
	want := []string{"ERROR app: Exception on /api/boom [GET]",
		"ERROR aws_xray_sdk.core.context: cannot find the current segment/subsegment, please make sure you have a segment open",
		"ERROR werkzeug: Error on request:"}
	if strings.Join(errs, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors logged:\n%s\nfull log:\n%s", strings.Join(errs, "\n"), stderr.String())
	}
	if os.Getenv("WAGGLE_TEST_VERBOSE") != "" {
		t.Log(stderr.String())
	}
}
