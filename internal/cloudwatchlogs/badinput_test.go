package cloudwatchlogs

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/awsauth"
)

// signedPost signs a request with SigV4 the way botocore does.
func signedPost(t testing.TB, url, target string, body []byte, secret string, at time.Time) *http.Request {
	r, _ := http.NewRequest("POST", url+"/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		r.Header.Set("X-Amz-Target", target)
	}
	date := at.UTC().Format("20060102T150405Z")
	r.Header.Set("X-Amz-Date", date)
	host := strings.TrimPrefix(url, "http://")
	signed := "content-type;host;x-amz-date;x-amz-target"
	creq := "POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:" + host + "\nx-amz-date:" + date + "\nx-amz-target:" + target + "\n\n" + signed + "\n" + sha(body)
	scope := date[:8] + "/us-east-1/logs/aws4_request"
	sts := "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + sha([]byte(creq))
	sig := hmacHex(awsauth.SigningKey(secret, date[:8], "us-east-1", "logs"), sts)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAKID+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
	return r
}

func do(t testing.TB, r *http.Request) (int, string, string) {
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Type string `json:"__type"`
	}
	_ = json.Unmarshal(b, &e)
	if e.Type != "" && resp.Header.Get("x-amzn-ErrorType") != e.Type {
		t.Fatalf("x-amzn-ErrorType %q, body %s", resp.Header.Get("x-amzn-ErrorType"), b)
	}
	return resp.StatusCode, e.Type, string(b)
}

// TestBadInput: every malformed, unsigned, wrongly signed, expired or
// over-limit request gets AWS's error, never a panic or a 5xx.
func TestBadInput(t *testing.T) {
	e := newTestEnv(t)
	now := time.Now()
	const T = TargetPrefix
	post := func(target string, body string) (int, string, string) {
		return do(t, signedPost(t, e.srv.URL, target, []byte(body), testSecret, now))
	}
	if _, code, _ := post(T+"CreateLogGroup", `{"logGroupName":"g"}`); code != "" {
		t.Fatal(code)
	}
	if _, code, _ := post(T+"CreateLogStream", `{"logGroupName":"g","logStreamName":"s"}`); code != "" {
		t.Fatal(code)
	}
	big := strings.Repeat("x", 600000)
	many := make([]string, 10001)
	for i := range many {
		many[i] = `{"timestamp":` + itoa(int(now.UnixMilli())) + `,"message":"m"}`
	}
	cases := []struct {
		name, target, body, code string
	}{
		{"unknown target", T + "NoSuchThing", `{}`, "UnknownOperationException"},
		{"other service", "DynamoDB_20120810.ListTables", `{}`, "UnknownOperationException"},
		{"malformed JSON", T + "DescribeLogGroups", `{"limit":`, "SerializationException"},
		{"wrong type", T + "DescribeLogGroups", `{"limit":"x"}`, "SerializationException"},
		{"trailing", T + "DescribeLogGroups", `{} {}`, "SerializationException"},
		{"limit", T + "DescribeLogGroups", `{"limit":51}`, "InvalidParameterException"},
		{"bad token", T + "DescribeLogGroups", `{"nextToken":"zzz"}`, "InvalidParameterException"},
		{"prefix and pattern", T + "DescribeLogGroups", `{"logGroupNamePrefix":"a","logGroupNamePattern":"b"}`, "InvalidParameterException"},
		{"bad group name", T + "CreateLogGroup", `{"logGroupName":"a b"}`, "InvalidParameterException"},
		{"long group name", T + "CreateLogGroup", `{"logGroupName":"` + strings.Repeat("a", 513) + `"}`, "InvalidParameterException"},
		{"no group name", T + "CreateLogGroup", `{}`, "InvalidParameterException"},
		{"bad stream name", T + "CreateLogStream", `{"logGroupName":"g","logStreamName":"a:b"}`, "InvalidParameterException"},
		{"duplicate stream", T + "CreateLogStream", `{"logGroupName":"g","logStreamName":"s"}`, "ResourceAlreadyExistsException"},
		{"no events", T + "PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[]}`, "InvalidParameterException"},
		{"10001 events", T + "PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[` + strings.Join(many, ",") + `]}`, "InvalidParameterException"},
		{"too many bytes", T + "PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"` + big + `"},{"timestamp":2,"message":"` + big + `"}]}`, "InvalidParameterException"},
		{"empty message", T + "PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":""}]}`, "InvalidParameterException"},
		{"no timestamp", T + "PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[{"message":"x"}]}`, "InvalidParameterException"},
		{"span over 24h", T + "PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":` + itoa(int(now.Add(-48*time.Hour).UnixMilli())) + `,"message":"a"},{"timestamp":` + itoa(int(now.UnixMilli())) + `,"message":"b"}]}`, "InvalidParameterException"},
		{"bad get token", T + "GetLogEvents", `{"logGroupName":"g","logStreamName":"s","nextToken":"f/12"}`, "InvalidParameterException"},
		{"bad filter token", T + "FilterLogEvents", `{"logGroupName":"g","nextToken":"a/!!"}`, "InvalidParameterException"},
		{"bad pattern", T + "FilterLogEvents", `{"logGroupName":"g","filterPattern":"{ $.a = }"}`, "InvalidParameterException"},
		{"names and prefix", T + "FilterLogEvents", `{"logGroupName":"g","logStreamNames":["s"],"logStreamNamePrefix":"s"}`, "InvalidParameterException"},
		{"missing group", T + "FilterLogEvents", `{"logGroupName":"nope"}`, "ResourceNotFoundException"},
		{"name and arn", T + "DescribeLogStreams", `{"logGroupName":"g","logGroupIdentifier":"g"}`, "ValidationException"},
		{"bad retention", T + "PutRetentionPolicy", `{"logGroupName":"g","retentionInDays":2}`, "InvalidParameterException"},
		{"bad query", T + "StartQuery", `{"logGroupName":"g","startTime":1,"endTime":2,"queryString":"stats foo("}`, "MalformedQueryException"},
		{"query missing group", T + "StartQuery", `{"logGroupName":"nope","startTime":1,"endTime":2,"queryString":"fields @message"}`, "ResourceNotFoundException"},
		{"unknown query", T + "GetQueryResults", `{"queryId":"x"}`, "ResourceNotFoundException"},
	}
	for _, tc := range cases {
		status, code, body := post(tc.target, tc.body)
		if code != tc.code || status >= 500 {
			t.Errorf("%s: %d %s %s, want %s", tc.name, status, code, body, tc.code)
		}
	}
	// Authentication failures.
	r := signedPost(t, e.srv.URL, T+"DescribeLogGroups", []byte(`{}`), testSecret, now)
	r.Header.Del("Authorization")
	if _, code, _ := do(t, r); code != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %s", code)
	}
	if _, code, _ := do(t, signedPost(t, e.srv.URL, T+"DescribeLogGroups", []byte(`{}`), "wrong", now)); code != "InvalidSignatureException" {
		t.Errorf("wrong secret: %s", code)
	}
	if _, code, body := do(t, signedPost(t, e.srv.URL, T+"DescribeLogGroups", []byte(`{}`), testSecret, now.Add(-20*time.Minute))); code != "InvalidSignatureException" || !strings.Contains(body, "Signature expired") {
		t.Errorf("expired: %s %s", code, body)
	}
	r = signedPost(t, e.srv.URL, T+"DescribeLogGroups", []byte(`{}`), testSecret, now)
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testAKID, "AKIDUNKNOWN", 1))
	if _, code, _ := do(t, r); code != "UnrecognizedClientException" {
		t.Errorf("unknown key: %s", code)
	}
	// Rejected-only batch: 200 with the indexes, nothing stored.
	_, code, body := post(T+"PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"ancient"}]}`)
	if code != "" || !strings.Contains(body, `"tooOldLogEventEndIndex":1`) {
		t.Errorf("too old: %s", body)
	}
}

func FuzzPattern(f *testing.F) {
	for _, s := range []string{`ERROR`, `"a b" -c ?d ?e`, `%ab+c%`, `{ $.level = "ERROR" && ($.latency > 100 || $.a[0].b IS NULL) }`,
		`{ $.x NOT EXISTS }`, `{ $.s = "pre*" }`, `[ip, user, ..., status = 4* || status = 5*, bytes > 10]`, `[a, ..., b, ...]`, `{`, `[`, `"`} {
		f.Add(s, `{"level":"ERROR","latency":150,"a":[{"b":null}],"s":"prefix"} 1.2.3.4 - u [t] "GET /" 404 12`)
	}
	f.Fuzz(func(t *testing.T, pat, line string) {
		p, err := CompilePattern(pat)
		if err != nil {
			return
		}
		_ = p.Match(line)
		_ = p.Pushdown()
	})
}

func FuzzInsights(f *testing.F) {
	for _, s := range []string{
		`fields @timestamp, @message | sort @timestamp desc | limit 20`,
		`filter level = "ERROR" and latency > 100 | stats count(*), avg(latency), pct(latency, 95) by bin(5m), service`,
		`parse @message "[*] *" as lvl, rest | filter lvl in ["ERROR", "WARN"] | display lvl, rest`,
		`parse @message /(?<user>\w+)@(?<host>\S+)/ | stats count_distinct(user) by host`,
		`filter @message like /time(out)?/ or not ispresent(x) | fields concat(a, "-", b) as ab # comment`,
		`stats count(*) as n by bin(1h) | sort n desc`, `| | `, `stats (`, `filter ((((a`,
	} {
		f.Add(s, `{"level":"ERROR","latency":150}`)
	}
	f.Fuzz(func(t *testing.T, q, msg string) {
		iq, err := ParseInsights(q)
		if err != nil {
			return
		}
		r := row{"@message": msg, "@timestamp": tsv(1700000000000), "latency": 150.0, "level": "ERROR"}
		for _, c := range iq.cmds {
			if c.filter != nil {
				_ = c.filter.eval(r)
			}
			for _, fe := range c.fields {
				_ = fe.e.eval(r)
			}
		}
	})
}

// FuzzPutLogEventsBody feeds arbitrary bodies to PutLogEvents' decoding and
// validation through the whole handler.
func FuzzPutLogEventsBody(f *testing.F) {
	f.Add(`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1700000000000,"message":"{\"a\":{\"b\":[1,2]},\"trace_id\":\"1-5759e988-bd862e3fe1be46a994272793\"}"}]}`)
	f.Add(`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":-1,"message":"x"}]}`)
	f.Add(`{"logEvents":null}`)
	f.Add(`[]`)
	e := newTestEnv(f)
	now := time.Now()
	post := func(target, body string) (int, string, string) {
		return do(f, signedPost(f, e.srv.URL, target, []byte(body), testSecret, now))
	}
	post(TargetPrefix+"CreateLogGroup", `{"logGroupName":"g"}`)
	post(TargetPrefix+"CreateLogStream", `{"logGroupName":"g","logStreamName":"s"}`)
	f.Fuzz(func(t *testing.T, body string) {
		status, _, _ := do(t, signedPost(t, e.srv.URL, TargetPrefix+"PutLogEvents", []byte(body), testSecret, now))
		if status >= 500 {
			t.Fatalf("status %d for %q", status, body)
		}
	})
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hmacHex(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}
