package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const awsCLI = "/usr/bin/aws"

// cli runs the AWS CLI (Debian's awscli v2) against waggle with the given
// secret; it returns stdout decoded (nil when empty), stderr and the exit
// code.
type cliRunner struct {
	t        *testing.T
	endpoint string
	env      []string
}

func newCLI(t *testing.T, endpoint, secret string) *cliRunner {
	if _, err := os.Stat(awsCLI); err != nil {
		t.Skip("no AWS CLI at " + awsCLI)
	}
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	if err := os.WriteFile(cfg, []byte("[default]\nregion = us-east-1\noutput = json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cliRunner{t: t, endpoint: endpoint, env: []string{
		"PATH=/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8",
		"AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID=" + xrayKeyID, "AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=",
	}}
}

func (c *cliRunner) run(args ...string) (any, string, int) {
	c.t.Helper()
	cmd := exec.Command(awsCLI, append([]string{"--endpoint-url", c.endpoint, "--output", "json"}, args...)...)
	cmd.Env = c.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatal(err)
	}
	var v any
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &v); err != nil {
			c.t.Fatalf("aws %v: %v: %s", args, err, out.String())
		}
	}
	return v, strings.TrimSpace(errb.String()), code
}

// ok runs a command that must succeed.
func (c *cliRunner) ok(args ...string) map[string]any {
	c.t.Helper()
	v, stderr, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("aws %v: exit %d: %s", args, code, stderr)
	}
	m, _ := v.(map[string]any)
	return m
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestXRayAWSCLI drives the X-Ray API with the AWS CLI: segments in with
// put-trace-segments, then get-trace-summaries with filter expressions of
// several kinds, batch-get-traces, get-service-graph, groups, sampling
// rules, each result checked exactly; and the CLI's view of a refused
// signature.
func TestXRayAWSCLI(t *testing.T) {
	srv := startXRayNode(t)
	base := "http://" + srv.HTTPAddr()
	cli := newCLI(t, base, xraySecret)
	now := time.Now().Truncate(time.Second)
	n := now.Unix()
	tid := func(i int) string { return fmt.Sprintf("1-%08x-%024x", n-30, i) }
	docs := []string{
		fmt.Sprintf(`{"trace_id":"%s","id":"1000000000000001","name":"api","user":"alice","start_time":%d.1,"end_time":%d.3,
			"http":{"request":{"method":"GET","url":"http://api.example.com/v2/users"},"response":{"status":200}},"annotations":{"gameid":"817DL6VO"}}`, tid(1), n-30, n-30),
		fmt.Sprintf(`{"trace_id":"%s","id":"2000000000000001","name":"api","start_time":%d.1,"end_time":%d.6,"fault":true,
			"http":{"request":{"method":"GET","url":"http://api.example.com/v2/orders"},"response":{"status":500}},
			"subsegments":[{"id":"2000000000000002","name":"backend","namespace":"remote","start_time":%d.2,"end_time":%d.5,"fault":true,
			"http":{"request":{"method":"GET","url":"http://backend/q","traced":true},"response":{"status":500}}}]}`, tid(2), n-20, n-20, n-20, n-20),
		fmt.Sprintf(`{"trace_id":"%s","id":"2000000000000003","parent_id":"2000000000000002","name":"backend","start_time":%d.25,"end_time":%d.45,"fault":true,
			"http":{"response":{"status":500}},"cause":{"exceptions":[{"id":"e000000000000001","type":"IOError","message":"db down"}]}}`, tid(2), n-20, n-20),
		fmt.Sprintf(`{"trace_id":"%s","id":"3000000000000001","name":"worker","start_time":%d.0,"end_time":%d.5,"error":true,
			"http":{"request":{"method":"POST","url":"http://worker/job"},"response":{"status":404}}}`, tid(3), n-10, n-8),
	}
	for i := range docs {
		docs[i] = strings.NewReplacer("\n", "", "\t", "").Replace(docs[i])
	}
	if got := js(cli.ok(append([]string{"xray", "put-trace-segments", "--trace-segment-documents"}, docs...)...)); got != `{"UnprocessedTraceSegments":[]}` {
		t.Fatal(got)
	}
	window := []string{"--start-time", fmt.Sprint(n - 120), "--end-time", fmt.Sprint(n + 60)}
	ids := func(m map[string]any) string {
		var out []string
		for _, s := range m["TraceSummaries"].([]any) {
			out = append(out, s.(map[string]any)["Id"].(string))
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	// Wait for the commit.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if got := ids(cli.ok(append([]string{"xray", "get-trace-summaries"}, window...)...)); got == tid(1)+" "+tid(2)+" "+tid(3) {
			break
		} else if time.Now().After(deadline) {
			t.Fatal(got)
		}
	}
	for expr, want := range map[string]string{
		`service("api")`:                      tid(1) + " " + tid(2),
		`fault`:                               tid(2),
		`error`:                               tid(3),
		`ok`:                                  tid(1),
		`annotation.gameid = "817DL6VO"`:      tid(1),
		`responsetime > 1`:                    tid(3),
		`duration < 1 AND !fault`:             tid(1),
		`edge("api", "backend") { fault }`:    tid(2),
		`service("backend") { fault }`:        tid(2),
		`user = "alice" OR http.status = 404`: tid(1) + " " + tid(3),
		`http.url CONTAINS "/v2/"`:            tid(1) + " " + tid(2),
		`http.method = "POST"`:                tid(3),
		`message = "db down"`:                 tid(2),
		`service("backend-flask")`:            "",
	} {
		if got := ids(cli.ok(append([]string{"xray", "get-trace-summaries", "--filter-expression", expr}, window...)...)); got != want {
			t.Errorf("%s: %q, want %q", expr, got, want)
		}
	}
	// One summary in full.
	m := cli.ok(append([]string{"xray", "get-trace-summaries", "--filter-expression", "fault"}, window...)...)
	s := m["TraceSummaries"].([]any)[0].(map[string]any)
	if s["Id"] != tid(2) || s["HasFault"] != true || s["HasError"] != false || s["HasThrottle"] != false || s["IsPartial"] != false ||
		s["ResponseTime"] != 0.5 || s["Duration"] != 0.5 ||
		js(s["Http"]) != `{"HttpMethod":"GET","HttpStatus":500,"HttpURL":"http://api.example.com/v2/orders"}` ||
		js(s["EntryPoint"]) != `{"Name":"api","Names":["api"]}` || js(s["ServiceIds"]) != `[{"Name":"api","Names":["api"]},{"Name":"backend","Names":["backend"]}]` {
		t.Fatalf("%s", js(s))
	}
	// Two candidates (fault and error are one pushed-down column), one match.
	if m["TracesProcessedCount"] != 2.0 {
		t.Fatalf("processed %v", m["TracesProcessedCount"])
	}
	_, stderr, code := cli.run(append([]string{"xray", "get-trace-summaries", "--filter-expression", `rootcause.fault.service { name = "x" }`}, window...)...)
	if code != 254 || stderr != "An error occurred (InvalidRequestException) when calling the GetTraceSummaries operation: Invalid filter expression at 0: rootcause keywords are not supported" {
		t.Fatalf("%d %q", code, stderr)
	}

	// batch-get-traces: the two segments of the faulting trace.
	m = cli.ok("xray", "batch-get-traces", "--trace-ids", tid(2), "1-00000000-000000000000000000000000")
	if js(m["UnprocessedTraceIds"]) != `["1-00000000-000000000000000000000000"]` || len(m["Traces"].([]any)) != 1 {
		t.Fatal(js(m))
	}
	tr := m["Traces"].([]any)[0].(map[string]any)
	var segs []string
	for _, sg := range tr["Segments"].([]any) {
		segs = append(segs, sg.(map[string]any)["Id"].(string)+" "+sg.(map[string]any)["Document"].(string))
	}
	sort.Strings(segs)
	if tr["Id"] != tid(2) || tr["Duration"] != 0.5 || len(segs) != 2 ||
		!strings.HasPrefix(segs[0], `2000000000000001 {"end_time":`) || !strings.Contains(segs[0], `"subsegments":[{"end_time":`) ||
		!strings.Contains(segs[0], `"name":"backend","namespace":"remote"`) ||
		!strings.Contains(segs[1], `"cause":{"exceptions":[{"id":"e000000000000001","type":"IOError","message":"db down"}]}`) ||
		!strings.Contains(segs[1], `"parent_id":"2000000000000002"`) {
		t.Fatalf("%s", strings.Join(segs, "\n"))
	}

	// get-service-graph: client → api → backend, client → worker.
	graph := func(extra ...string) string {
		m := cli.ok(append(append([]string{"xray", "get-service-graph"}, window...), extra...)...)
		names := map[float64]string{}
		for _, sv := range m["Services"].([]any) {
			s := sv.(map[string]any)
			names[s["ReferenceId"].(float64)] = s["Name"].(string)
		}
		var out []string
		for _, sv := range m["Services"].([]any) {
			s := sv.(map[string]any)
			line := s["Name"].(string) + "/" + s["Type"].(string) + "/" + s["State"].(string)
			if st, ok := s["SummaryStatistics"].(map[string]any); ok {
				line += fmt.Sprintf(" ok=%v fault=%v error=%v total=%v", st["OkCount"], st["FaultStatistics"].(map[string]any)["TotalCount"],
					st["ErrorStatistics"].(map[string]any)["TotalCount"], st["TotalCount"])
			}
			var edges []string
			for _, ev := range s["Edges"].([]any) {
				e := ev.(map[string]any)
				edges = append(edges, fmt.Sprintf("%s(total=%v)", names[e["ReferenceId"].(float64)], e["SummaryStatistics"].(map[string]any)["TotalCount"]))
			}
			sort.Strings(edges)
			out = append(out, line+" → "+strings.Join(edges, ","))
		}
		sort.Strings(out)
		return strings.Join(out, "\n")
	}
	want := "api//active ok=1 fault=1 error=0 total=2 → backend(total=1)\n" +
		"backend//active ok=0 fault=1 error=0 total=1 → \n" +
		"client/client/unknown → api(total=2),worker(total=1)\n" +
		"worker//active ok=0 fault=0 error=1 total=1 → "
	if got := graph(); got != want {
		t.Fatalf("service graph:\n%s\nwant:\n%s", got, want)
	}

	// Groups.
	g := cli.ok("xray", "create-group", "--group-name", "backend-flask", "--filter-expression", `service("api")`)["Group"].(map[string]any)
	arn := g["GroupARN"].(string)
	if g["GroupName"] != "backend-flask" || g["FilterExpression"] != `service("api")` || !strings.HasPrefix(arn, "arn:aws:xray:us-east-1:") ||
		!strings.Contains(arn, ":group/backend-flask/") || js(g["InsightsConfiguration"]) != `{"InsightsEnabled":false,"NotificationsEnabled":false}` {
		t.Fatal(js(g))
	}
	if got := js(cli.ok("xray", "get-group", "--group-name", "backend-flask")); got != js(map[string]any{"Group": g}) {
		t.Fatal(got)
	}
	if got := js(cli.ok("xray", "get-group", "--group-arn", arn)); got != js(map[string]any{"Group": g}) {
		t.Fatal(got)
	}
	if got := js(cli.ok("xray", "get-groups")); got != js(map[string]any{"Groups": []any{g}}) {
		t.Fatal(got)
	}
	_, stderr, code = cli.run("xray", "create-group", "--group-name", "backend-flask")
	if code != 254 || stderr != "An error occurred (InvalidRequestException) when calling the CreateGroup operation: Group already exists" {
		t.Fatalf("%d %q", code, stderr)
	}
	want = "api//active ok=1 fault=1 error=0 total=2 → backend(total=1)\n" +
		"backend//active ok=0 fault=1 error=0 total=1 → \n" +
		"client/client/unknown → api(total=2)"
	if got := graph("--group-name", "backend-flask"); got != want {
		t.Fatalf("group graph:\n%s", got)
	}
	if got := js(cli.ok(append([]string{"xray", "get-trace-summaries", "--filter-expression", `group.name = "backend-flask" AND fault`}, window...)...)["TraceSummaries"].([]any)[0].(map[string]any)["Id"]); got != `"`+tid(2)+`"` {
		t.Fatal(got)
	}

	// Sampling rules.
	rules := cli.ok("xray", "get-sampling-rules")
	recs := rules["SamplingRuleRecords"].([]any)
	if len(recs) != 1 {
		t.Fatal(js(rules))
	}
	def := recs[0].(map[string]any)
	if got := js(def["SamplingRule"]); !strings.HasPrefix(got, `{"Attributes":{},"FixedRate":0.05,"HTTPMethod":"*","Host":"*","Priority":10000,"ReservoirSize":1,"ResourceARN":"*","RuleARN":"arn:aws:xray:us-east-1:`) ||
		!strings.HasSuffix(got, `:sampling-rule/Default","RuleName":"Default","ServiceName":"*","ServiceType":"*","URLPath":"*","Version":1}`) {
		t.Fatal(got)
	}
	if _, ok := def["ModifiedAt"].(string); !ok { // the CLI prints timestamps as ISO 8601
		t.Fatal(js(def))
	}
	created := cli.ok("xray", "create-sampling-rule", "--sampling-rule",
		`{"RuleName":"api-writes","ResourceARN":"*","Priority":100,"FixedRate":0.5,"ReservoirSize":5,"ServiceName":"Cruddur","ServiceType":"*","Host":"*","HTTPMethod":"POST","URLPath":"/api/*","Version":1}`)
	rule := created["SamplingRuleRecord"].(map[string]any)["SamplingRule"].(map[string]any)
	if rule["RuleName"] != "api-writes" || rule["Priority"] != 100.0 || rule["FixedRate"] != 0.5 || rule["ReservoirSize"] != 5.0 ||
		!strings.HasSuffix(rule["RuleARN"].(string), ":sampling-rule/api-writes") {
		t.Fatal(js(created))
	}
	var names []string
	for _, r := range cli.ok("xray", "get-sampling-rules")["SamplingRuleRecords"].([]any) {
		names = append(names, r.(map[string]any)["SamplingRule"].(map[string]any)["RuleName"].(string))
	}
	if strings.Join(names, ",") != "api-writes,Default" {
		t.Fatal(names)
	}
	_, stderr, code = cli.run("xray", "create-sampling-rule", "--sampling-rule",
		`{"RuleName":"bad","ResourceARN":"*","Priority":100,"FixedRate":1.5,"ReservoirSize":5,"ServiceName":"*","ServiceType":"*","Host":"*","HTTPMethod":"*","URLPath":"*","Version":1}`)
	if code != 254 || !strings.Contains(stderr, "(InvalidRequestException) when calling the CreateSamplingRule operation: invalid sampling rule: FixedRate must be between 0 and 1") {
		t.Fatalf("%d %q", code, stderr)
	}

	// A wrong secret: the CLI reports AWS's refusal.
	_, stderr, code = newCLI(t, base, "wrong").run(append([]string{"xray", "get-trace-summaries"}, window...)...)
	if code != 254 || stderr != "An error occurred (InvalidSignatureException) when calling the GetTraceSummaries operation: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details." {
		t.Fatalf("%d %q", code, stderr)
	}
}

// TestXRaySigV4Refusals: a request signed 20 minutes ago and one signed
// with a wrong secret are refused as X-Ray (REST-JSON) refuses them: 403,
// x-amzn-ErrorType, {"__type","message"}.
func TestXRaySigV4Refusals(t *testing.T) {
	srv := startXRayNode(t)
	base := "http://" + srv.HTTPAddr()
	body := []byte(fmt.Sprintf(`{"StartTime":%d,"EndTime":%d}`, time.Now().Add(-time.Hour).Unix(), time.Now().Unix()))
	sum := sha256.Sum256(body)
	for name, c := range map[string]struct {
		secret string
		at     time.Time
		code   string
		msg    string
	}{
		"stale":  {xraySecret, time.Now().Add(-20 * time.Minute), "InvalidSignatureException", "Signature expired: "},
		"wrong":  {"wrong", time.Now(), "InvalidSignatureException", "The request signature we calculated does not match"},
		"good":   {xraySecret, time.Now(), "", ""},
		"future": {xraySecret, time.Now().Add(20 * time.Minute), "InvalidSignatureException", "Signature not yet current: "},
	} {
		r, _ := http.NewRequest("POST", base+"/TraceSummaries", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: xrayKeyID, SecretAccessKey: c.secret},
			r, hex.EncodeToString(sum[:]), "xray", "us-east-1", c.at)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if c.code == "" {
			if resp.StatusCode != 200 {
				t.Errorf("%s: %d %s", name, resp.StatusCode, b)
			}
			continue
		}
		var e struct{ Type, Message string }
		_ = json.Unmarshal(bytes.Replace(b, []byte(`"__type"`), []byte(`"type"`), 1), &e)
		if resp.StatusCode != 403 || resp.Header.Get("x-amzn-ErrorType") != c.code || e.Type != c.code || !strings.HasPrefix(e.Message, c.msg) {
			t.Errorf("%s: %d %s %s", name, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), b)
		}
	}
}
