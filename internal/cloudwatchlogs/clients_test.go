package cloudwatchlogs

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// awsEnv is an environment for AWS clients that reads nothing outside the
// test: credentials from variables, no config files, no instance metadata.
func awsEnv(t *testing.T, secret string) []string {
	home := t.TempDir()
	cfg := filepath.Join(home, "config")
	if err := os.WriteFile(cfg, []byte("[default]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"),
		"AWS_ACCESS_KEY_ID=" + testAKID, "AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + cfg, "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=", "AWS_CLI_AUTO_PROMPT=off",
	}
}

func needPython(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("Debian python3-boto3 is not installed")
	}
}

// TestBoto3Watchtower runs watchtower's call sequence and a watchtower-like
// logging handler with Debian's boto3, then checks what was stored.
func TestBoto3Watchtower(t *testing.T) {
	needPython(t)
	e := newTestEnv(t)
	cmd := exec.Command("/usr/bin/python3", "testdata/watchtower_flow.py", e.srv.URL)
	cmd.Env = awsEnv(t, testSecret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var seen map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &seen); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := map[string]any{
		"describe_before": []any{},
		"duplicate_group": "ResourceAlreadyExistsException",
		"missing_stream":  []any{"ResourceNotFoundException", "The specified log stream does not exist."},
		"first_put_keys":  []any{"nextSequenceToken"},
		"second_put_keys": []any{"nextSequenceToken"},
		"rejected":        map[string]any{"tooOldLogEventEndIndex": 1.0, "tooNewLogEventStartIndex": 2.0},
		"out_of_order":    []any{"InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order."},
		"stream_messages": []any{"hello one", `{"structured": true, "n": 2}`, "hello three Root=1-5759e988-bd862e3fe1be46a994272793", "fine"},
		"handler_count":   26.0,
		"describe_after":  []any{"cruddur"},
		"retention":       7.0,
	}
	for k, v := range want {
		if !reflect.DeepEqual(seen[k], v) {
			t.Errorf("%s = %#v, want %#v", k, seen[k], v)
		}
	}
	// Trace ids: the X-Ray id in a plain line and a JSON trace_id both
	// reach the trace lookup.
	ctx := ctxT(t)
	for _, id := range []string{"5759e988bd862e3fe1be46a994272793", "4bf92f3577b34da6a3ce929d0e0e4736"} {
		evs, err := e.store.Trace(ctx, e.env.ID, id)
		if err != nil || len(evs) != 1 {
			t.Fatalf("trace %s: %v %v", id, evs, err)
		}
		ok := false
		for _, f := range evs[0].Fields {
			ok = ok || f.Key == FieldSignalType && f.Value.Str() == SignalType
		}
		if !ok {
			t.Fatalf("no meta.signal_type=log: %v", evs[0].Fields)
		}
	}
}

func needCLI(t *testing.T) string {
	for _, p := range []string{"/usr/bin/aws"} {
		if out, err := exec.Command(p, "--version").CombinedOutput(); err == nil && strings.HasPrefix(string(out), "aws-cli/2") {
			return p
		}
	}
	t.Skip("Debian awscli (v2) is not installed")
	return ""
}

// TestAWSCLI drives /usr/bin/aws (v2): describe-log-groups, get-log-events
// across pages, filter-log-events with each pattern kind, logs tail (with
// and without --follow), start-query / get-query-results.
func TestAWSCLI(t *testing.T) {
	aws := needCLI(t)
	e := newTestEnv(t)
	env := awsEnv(t, testSecret)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--endpoint-url", e.srv.URL, "--output", "json"}, args...)...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("aws %v: %v\n%s%s", args, err, out, stderr)
		}
		return string(out)
	}
	run("logs", "create-log-group", "--log-group-name", "/cli/app")
	run("logs", "create-log-stream", "--log-group-name", "/cli/app", "--log-stream-name", "web")
	now := time.Now().Add(-2 * time.Minute).UnixMilli()
	var evs []map[string]any
	for i := 0; i < 120; i++ {
		var msg string
		switch i % 4 {
		case 0:
			msg = `{"level":"ERROR","latency":` + itoa(i*10) + `}`
		case 1:
			msg = "10.0.0." + itoa(i) + " - frank [10/Oct/2000:13:55:36 -0700] \"GET /index.html HTTP/1.0\" 404 " + itoa(i)
		case 2:
			msg = "WARN disk almost full " + itoa(i)
		default:
			msg = "INFO request served " + itoa(i)
		}
		evs = append(evs, map[string]any{"timestamp": now + int64(i), "message": msg})
	}
	b, _ := json.Marshal(evs)
	run("logs", "put-log-events", "--log-group-name", "/cli/app", "--log-stream-name", "web", "--log-events", string(b))

	var groups struct {
		LogGroups []struct{ LogGroupName string }
	}
	mustJSON(t, run("logs", "describe-log-groups"), &groups)
	if len(groups.LogGroups) != 1 || groups.LogGroups[0].LogGroupName != "/cli/app" {
		t.Fatalf("%+v", groups)
	}
	// get-log-events across pages (the CLI has no paginator for it).
	total, tok := 0, ""
	for pages := 0; ; pages++ {
		args := []string{"logs", "get-log-events", "--log-group-name", "/cli/app", "--log-stream-name", "web", "--start-from-head", "--limit", "25"}
		if tok != "" {
			args = append(args, "--next-token", tok)
		}
		var page struct {
			Events           []struct{ Message string }
			NextForwardToken string
		}
		mustJSON(t, run(args...), &page)
		total += len(page.Events)
		if page.NextForwardToken == tok || pages > 10 {
			break
		}
		tok = page.NextForwardToken
	}
	if total != 120 {
		t.Fatalf("get-log-events: %d", total)
	}
	for pattern, want := range map[string]int{
		`WARN`:          30,
		`"disk almost"`: 30,
		`INFO -served`:  0,
		`?WARN ?INFO`:   60,
		`{ $.level = "ERROR" && $.latency > 500 }`:                                 30 - 13,
		`[ip, user, username, timestamp, request, status_code = 404, bytes > 100]`: 5,
		`[ip, user, username, timestamp, request, status_code = 4*, bytes]`:        30,
		`[ip, ..., bytes < 50]`: 13 + 12 + 12,
		`%disk almost [a-z]+%`:  30,
	} {
		var res struct{ Events []struct{ EventID string } }
		mustJSON(t, run("logs", "filter-log-events", "--log-group-name", "/cli/app", "--filter-pattern", pattern, "--page-size", "7"), &res)
		if len(res.Events) != want {
			t.Errorf("filter %q: %d events, want %d", pattern, len(res.Events), want)
		}
	}
	// logs tail: every line once, then --follow for a bounded time.
	out := run("logs", "tail", "/cli/app", "--since", "1h", "--format", "short")
	if n := strings.Count(out, "\n"); n != 120 {
		t.Fatalf("tail: %d lines", n)
	}
	cmd := exec.Command("timeout", "8", aws, "--endpoint-url", e.srv.URL, "logs", "tail", "/cli/app", "--since", "1h", "--follow", "--format", "short", "--filter-pattern", "WARN")
	cmd.Env = append(env, "PYTHONUNBUFFERED=1")
	fout, _ := cmd.Output()
	if n := strings.Count(string(fout), "\n"); n != 30 {
		t.Fatalf("tail --follow: %d lines\n%s", n, fout)
	}
	// Logs Insights.
	var q struct{ QueryID string }
	mustJSON(t, run("logs", "start-query", "--log-group-name", "/cli/app", "--start-time", itoa(int(now/1000-60)), "--end-time", itoa(int(time.Now().Unix())),
		"--query-string", `filter @message like "WARN" | stats count(*) as n by bin(1h)`), &q)
	var res struct {
		Status  string
		Results [][]struct{ Field, Value string }
	}
	for i := 0; i < 50; i++ {
		mustJSON(t, run("logs", "get-query-results", "--query-id", q.QueryID), &res)
		if res.Status == "Complete" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	sum := 0
	for _, r := range res.Results {
		for _, f := range r {
			if f.Field == "n" {
				sum += atoi(f.Value)
			}
		}
	}
	if res.Status != "Complete" || sum != 30 {
		t.Fatalf("insights: %+v", res)
	}
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func atoi(s string) int {
	var n int
	_ = json.Unmarshal([]byte(s), &n)
	return n
}
