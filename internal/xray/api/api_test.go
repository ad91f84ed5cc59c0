package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"
	"github.com/aws/aws-sdk-go-v2/service/xray/types"
	"github.com/aws/smithy-go"

	"github.com/waggle-hq/waggle/internal/xray/daemon"
)

// apiErr returns the AWS error code and HTTP status of a client error.
func apiErr(t *testing.T, err error) (string, int, string) {
	t.Helper()
	var ae smithy.APIError
	var re *awshttp.ResponseError
	if !errors.As(err, &ae) || !errors.As(err, &re) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode(), re.HTTPStatusCode(), ae.ErrorMessage()
}

func seg(traceHex string, id string, name string, start float64, dur float64, extra string) string {
	return fmt.Sprintf(`{"trace_id":"1-%s-%s","id":"%s","name":"%s","start_time":%f,"end_time":%f%s}`,
		traceHex[:8], traceHex[8:], id, name, start, start+dur, extra)
}

// TestSummariesPagination stores 230 traces, several started at the same
// instant across the page boundaries, and pages through them with the SDK's
// paginator: every trace once, newest first, 100 per page, no token twice.
func TestSummariesPagination(t *testing.T) {
	h := newHarness(t)
	now := time.Now().Truncate(time.Second)
	base := float64(now.Add(-5 * time.Minute).Unix())
	var docs []string
	faults := 0
	for i := range 230 {
		start := base + float64(i/3) // three traces per instant
		extra := ""
		if i%3 == 0 {
			extra = `,"fault":true,"http":{"response":{"status":500}}`
			faults++
		}
		docs = append(docs, seg(fmt.Sprintf("%08x%024x", int64(start), i), fmt.Sprintf("%016x", i+1), "svc", start, 0.01, extra))
	}
	h.put(t, docs...)
	cl := h.client(secret)
	ctx := context.Background()
	start, end := now.Add(-time.Hour), now.Add(time.Minute)
	for _, c := range []struct {
		expr  string
		want  int
		pages []int
	}{{"", 230, []int{100, 100, 30}}, {"fault", faults, []int{77}}, {`!fault AND service("svc")`, 230 - faults, []int{100, 53}}} {
		p := awsxray.NewGetTraceSummariesPaginator(cl, &awsxray.GetTraceSummariesInput{StartTime: &start, EndTime: &end, FilterExpression: aws.String(c.expr)})
		seen := map[string]bool{}
		tokens := map[string]bool{}
		var pages []int
		var last float64 = 1e18
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages = append(pages, len(out.TraceSummaries))
			if out.NextToken != nil {
				if tokens[*out.NextToken] {
					t.Fatal("token repeated")
				}
				tokens[*out.NextToken] = true
			}
			for _, s := range out.TraceSummaries {
				if seen[*s.Id] {
					t.Fatalf("%s twice", *s.Id)
				}
				seen[*s.Id] = true
				st := float64(s.StartTime.UnixNano()) / 1e9
				if st > last+1e-6 {
					t.Fatalf("not newest first: %v after %v", st, last)
				}
				last = st
			}
		}
		if len(seen) != c.want || fmt.Sprint(pages) != fmt.Sprint(c.pages) {
			t.Errorf("%q: %d traces in pages %v, want %d in %v", c.expr, len(seen), pages, c.want, c.pages)
		}
	}
	// BatchGetTraces pages of 5; unknown and malformed ids are unprocessed.
	var ids []string
	for i := range 11 {
		start := base + float64(i/3)
		h := fmt.Sprintf("%08x%024x", int64(start), i)
		ids = append(ids, "1-"+h[:8]+"-"+h[8:])
	}
	ids = append(ids, "1-00000000-000000000000000000000000", "nope")
	bp := awsxray.NewBatchGetTracesPaginator(cl, &awsxray.BatchGetTracesInput{TraceIds: ids})
	var got, unprocessed []string
	var pages []int
	for bp.HasMorePages() {
		out, err := bp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(out.Traces)+len(out.UnprocessedTraceIds))
		for _, tr := range out.Traces {
			got = append(got, *tr.Id)
			if len(tr.Segments) != 1 || !strings.Contains(*tr.Segments[0].Document, `"name":"svc"`) {
				t.Fatalf("%+v", tr)
			}
		}
		unprocessed = append(unprocessed, out.UnprocessedTraceIds...)
	}
	if len(got) != 11 || fmt.Sprint(unprocessed) != "[1-00000000-000000000000000000000000 nope]" || fmt.Sprint(pages) != "[5 5 3]" {
		t.Fatalf("%d traces, unprocessed %v, pages %v", len(got), unprocessed, pages)
	}
	// A token that is not ours.
	_, err := cl.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{StartTime: &start, EndTime: &end, NextToken: aws.String("garbage!")})
	if code, status, msg := apiErr(t, err); code != "InvalidRequestException" || status != 400 || msg != "The NextToken is invalid." {
		t.Fatal(code, status, msg)
	}
	_, err = cl.GetTraceSummaries(ctx, &awsxray.GetTraceSummariesInput{StartTime: &start, EndTime: &end, FilterExpression: aws.String("fault = 3")})
	if code, status, msg := apiErr(t, err); code != "InvalidRequestException" || status != 400 || msg != "Invalid filter expression at 8: fault compares with true or false" {
		t.Fatal(code, status, msg)
	}
}

func TestGroupsCRUD(t *testing.T) {
	h := newHarness(t)
	cl := h.client(secret)
	ctx := context.Background()
	g, err := cl.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("backend-flask"), FilterExpression: aws.String(`service("backend-flask")`),
		InsightsConfiguration: &types.InsightsConfiguration{InsightsEnabled: aws.Bool(true)}})
	if err != nil {
		t.Fatal(err)
	}
	arn := *g.Group.GroupARN
	if !strings.HasPrefix(arn, fmt.Sprintf("arn:aws:xray:us-east-1:%012d:group/backend-flask/", h.env)) || len(arn) != len(fmt.Sprintf("arn:aws:xray:us-east-1:%012d:group/backend-flask/", h.env))+26 ||
		*g.Group.FilterExpression != `service("backend-flask")` || !*g.Group.InsightsConfiguration.InsightsEnabled {
		t.Fatalf("%+v", g.Group)
	}
	for name, want := range map[string]string{
		"backend-flask":         "Group already exists",
		"Default":               "GroupName must be 1 to 32 letters, digits, dashes or underscores, and not Default",
		"bad name":              "GroupName must be",
		strings.Repeat("x", 33): "GroupName must be",
	} {
		_, err := cl.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String(name)})
		if code, status, msg := apiErr(t, err); code != "InvalidRequestException" || status != 400 || !strings.HasPrefix(msg, want) {
			t.Errorf("%s: %s %d %s", name, code, status, msg)
		}
	}
	_, err = cl.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("x"), FilterExpression: aws.String(`service("a"`)})
	if _, _, msg := apiErr(t, err); !strings.HasPrefix(msg, "Invalid filter expression at 11") {
		t.Fatal(msg)
	}
	if _, err := cl.CreateGroup(ctx, &awsxray.CreateGroupInput{GroupName: aws.String("faults"), FilterExpression: aws.String("fault")}); err != nil {
		t.Fatal(err)
	}
	byARN, err := cl.GetGroup(ctx, &awsxray.GetGroupInput{GroupARN: &arn})
	if err != nil || *byARN.Group.GroupName != "backend-flask" || *byARN.Group.GroupARN != arn {
		t.Fatal(byARN, err)
	}
	gp := awsxray.NewGetGroupsPaginator(cl, &awsxray.GetGroupsInput{})
	var names []string
	for gp.HasMorePages() {
		out, err := gp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.Groups {
			names = append(names, *g.GroupName)
		}
	}
	sort.Strings(names)
	if fmt.Sprint(names) != "[backend-flask faults]" {
		t.Fatal(names)
	}
	up, err := cl.UpdateGroup(ctx, &awsxray.UpdateGroupInput{GroupName: aws.String("backend-flask"), FilterExpression: aws.String(`service("Cruddur")`)})
	if err != nil || *up.Group.FilterExpression != `service("Cruddur")` || *up.Group.GroupARN != arn || !*up.Group.InsightsConfiguration.InsightsEnabled {
		t.Fatal(up, err)
	}
	if _, err := cl.DeleteGroup(ctx, &awsxray.DeleteGroupInput{GroupARN: &arn}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.GetGroup(ctx, &awsxray.GetGroupInput{GroupName: aws.String("backend-flask")})
	if code, status, msg := apiErr(t, err); code != "InvalidRequestException" || status != 400 || msg != "Group not found" {
		t.Fatal(code, status, msg)
	}
	_, err = cl.GetServiceGraph(ctx, &awsxray.GetServiceGraphInput{StartTime: aws.Time(time.Now().Add(-time.Hour)), EndTime: aws.Time(time.Now()), GroupName: aws.String("backend-flask")})
	if _, _, msg := apiErr(t, err); msg != "Group not found" {
		t.Fatal(msg)
	}
}

func TestSamplingRuleCRUD(t *testing.T) {
	h := newHarness(t)
	cl := h.client(secret)
	ctx := context.Background()
	rule := func(name string, prio int32) *types.SamplingRule {
		return &types.SamplingRule{RuleName: aws.String(name), ResourceARN: aws.String("*"), Priority: aws.Int32(prio), FixedRate: 0.2,
			ReservoirSize: 3, ServiceName: aws.String("Cruddur"), ServiceType: aws.String("*"), Host: aws.String("*"),
			HTTPMethod: aws.String("GET"), URLPath: aws.String("/api/*"), Version: aws.Int32(1)}
	}
	cr, err := cl.CreateSamplingRule(ctx, &awsxray.CreateSamplingRuleInput{SamplingRule: rule("api-gets", 100)})
	if err != nil {
		t.Fatal(err)
	}
	if *cr.SamplingRuleRecord.SamplingRule.RuleARN != fmt.Sprintf("arn:aws:xray:us-east-1:%012d:sampling-rule/api-gets", h.env) ||
		cr.SamplingRuleRecord.CreatedAt == nil || time.Since(*cr.SamplingRuleRecord.CreatedAt) > time.Minute {
		t.Fatalf("%+v", cr.SamplingRuleRecord)
	}
	if _, err := cl.CreateSamplingRule(ctx, &awsxray.CreateSamplingRuleInput{SamplingRule: rule("first", 1)}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.CreateSamplingRule(ctx, &awsxray.CreateSamplingRuleInput{SamplingRule: rule("api-gets", 5)})
	if code, status, msg := apiErr(t, err); code != "InvalidRequestException" || status != 400 || msg != "sampling rule already exists: api-gets" {
		t.Fatal(code, status, msg)
	}
	bad := rule("bad", 5)
	bad.FixedRate = 2
	_, err = cl.CreateSamplingRule(ctx, &awsxray.CreateSamplingRuleInput{SamplingRule: bad})
	if _, _, msg := apiErr(t, err); msg != "invalid sampling rule: FixedRate must be between 0 and 1" {
		t.Fatal(msg)
	}
	rp := awsxray.NewGetSamplingRulesPaginator(cl, &awsxray.GetSamplingRulesInput{})
	var names []string
	for rp.HasMorePages() {
		out, err := rp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.SamplingRuleRecords {
			names = append(names, *r.SamplingRule.RuleName)
		}
	}
	if fmt.Sprint(names) != "[first api-gets Default]" {
		t.Fatal(names)
	}
	up, err := cl.UpdateSamplingRule(ctx, &awsxray.UpdateSamplingRuleInput{SamplingRuleUpdate: &types.SamplingRuleUpdate{RuleName: aws.String("api-gets"), ReservoirSize: aws.Int32(9)}})
	if err != nil || up.SamplingRuleRecord.SamplingRule.ReservoirSize != 9 || up.SamplingRuleRecord.SamplingRule.FixedRate != 0.2 {
		t.Fatal(up, err)
	}
	tg, err := cl.GetSamplingTargets(ctx, &awsxray.GetSamplingTargetsInput{SamplingStatisticsDocuments: []types.SamplingStatisticsDocument{
		{RuleName: aws.String("api-gets"), ClientID: aws.String("82b27d30d576c9967c806b80"), Timestamp: aws.Time(time.Now()), RequestCount: 4, SampledCount: 2, BorrowCount: 1},
	}})
	if err != nil || len(tg.SamplingTargetDocuments) != 1 || *tg.SamplingTargetDocuments[0].ReservoirQuota != 9 ||
		tg.SamplingTargetDocuments[0].FixedRate != 0.2 || tg.LastRuleModification == nil || tg.SamplingTargetDocuments[0].ReservoirQuotaTTL.Before(time.Now()) {
		t.Fatal(tg, err)
	}
	del, err := cl.DeleteSamplingRule(ctx, &awsxray.DeleteSamplingRuleInput{RuleARN: up.SamplingRuleRecord.SamplingRule.RuleARN})
	if err != nil || *del.SamplingRuleRecord.SamplingRule.RuleName != "api-gets" {
		t.Fatal(del, err)
	}
	_, err = cl.DeleteSamplingRule(ctx, &awsxray.DeleteSamplingRuleInput{RuleName: aws.String("Default")})
	if _, _, msg := apiErr(t, err); msg != "invalid sampling rule: the Default rule cannot be deleted" {
		t.Fatal(msg)
	}
}

// TestTimeSeriesShapes checks GetTimeSeriesServiceStatistics' JSON: one
// entry per period with traffic, service and edge statistics as X-Ray's
// model names them, and a response-time histogram.
func TestTimeSeriesShapes(t *testing.T) {
	h := newHarness(t)
	minute := time.Now().Add(-10 * time.Minute).Truncate(time.Minute)
	m0 := float64(minute.Unix())
	h.put(t,
		seg(fmt.Sprintf("%08x%024x", int64(m0), 1), "0000000000000001", "api", m0+1, 0.5, `,"http":{"response":{"status":200}}`),
		seg(fmt.Sprintf("%08x%024x", int64(m0), 2), "0000000000000002", "api", m0+2, 1.5, `,"fault":true,"http":{"response":{"status":500}}`),
		seg(fmt.Sprintf("%08x%024x", int64(m0), 3), "0000000000000003", "api", m0+61, 0.25, `,"error":true,"http":{"response":{"status":404}}`),
		seg(fmt.Sprintf("%08x%024x", int64(m0), 4), "0000000000000004", "api", m0+62, 0.25, `,"throttle":true,"error":true,"http":{"response":{"status":429}}`),
		seg(fmt.Sprintf("%08x%024x", int64(m0), 5), "0000000000000005", "other", m0+63, 0.25, ``),
	)
	body := fmt.Sprintf(`{"StartTime":%d,"EndTime":%d,"Period":60,"EntitySelectorExpression":"service(\"api\")"}`, minute.Add(-time.Minute).Unix(), minute.Add(5*time.Minute).Unix())
	code, _, res := post(t, h.api.Unsigned(h.env), "/TimeSeriesServiceStatistics", body)
	if code != 200 {
		t.Fatal(code, res)
	}
	got, _ := json.Marshal(res)
	want := fmt.Sprintf(`{"ContainsOldGroupVersions":false,"TimeSeriesServiceStatistics":[`+
		`{"EdgeSummaryStatistics":{"ErrorStatistics":{"OtherCount":0,"ThrottleCount":0,"TotalCount":0},"FaultStatistics":{"OtherCount":1,"TotalCount":1},"OkCount":1,"TotalCount":2,"TotalResponseTime":2},`+
		`"ResponseTimeHistogram":[{"Count":1,"Value":0.5},{"Count":1,"Value":1.5}],`+
		`"ServiceSummaryStatistics":{"ErrorStatistics":{"OtherCount":0,"ThrottleCount":0,"TotalCount":0},"FaultStatistics":{"OtherCount":1,"TotalCount":1},"OkCount":1,"TotalCount":2,"TotalResponseTime":2},"Timestamp":%d},`+
		`{"EdgeSummaryStatistics":{"ErrorStatistics":{"OtherCount":1,"ThrottleCount":1,"TotalCount":2},"FaultStatistics":{"OtherCount":0,"TotalCount":0},"OkCount":0,"TotalCount":2,"TotalResponseTime":0.5},`+
		`"ResponseTimeHistogram":[{"Count":2,"Value":0.25}],`+
		`"ServiceSummaryStatistics":{"ErrorStatistics":{"OtherCount":1,"ThrottleCount":1,"TotalCount":2},"FaultStatistics":{"OtherCount":0,"TotalCount":0},"OkCount":0,"TotalCount":2,"TotalResponseTime":0.5},"Timestamp":%d}]}`,
		minute.Unix(), minute.Unix()+60)
	if string(got) != want {
		t.Fatalf("%s\nwant %s", got, want)
	}
	// The SDK reads it.
	out, err := h.client(secret).GetTimeSeriesServiceStatistics(context.Background(), &awsxray.GetTimeSeriesServiceStatisticsInput{
		StartTime: aws.Time(minute.Add(-time.Minute)), EndTime: aws.Time(minute.Add(5 * time.Minute)), Period: aws.Int32(60)})
	if err != nil || len(out.TimeSeriesServiceStatistics) != 2 || *out.TimeSeriesServiceStatistics[1].ServiceSummaryStatistics.TotalCount != 3 {
		t.Fatal(out, err)
	}
	code, _, res = post(t, h.api.Unsigned(h.env), "/TimeSeriesServiceStatistics", fmt.Sprintf(`{"StartTime":%d,"EndTime":%d,"Period":30}`, minute.Unix(), minute.Unix()+600))
	if code != 400 || res["message"] != "Period must be a multiple of 60 seconds" {
		t.Fatal(code, res)
	}
}

// capture is one captured request of the reference captures.
type capture struct {
	Kind, Method, Path string
	Headers            map[string]string
	Body               string
}

func captures(t *testing.T) []capture {
	var out []capture
	for _, f := range []string{"cap1.jsonl", "cap2.jsonl"} {
		b, err := os.ReadFile("../testdata/captures/" + f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var c capture
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatal(err)
			}
			if c.Kind == "http" && c.Headers["X-Amz-Target"] == "" {
				out = append(out, c)
			}
		}
	}
	return out
}

func (c capture) request(base string, body string) *http.Request {
	r, _ := http.NewRequest(c.Method, base+c.Path, strings.NewReader(body))
	for k, v := range c.Headers {
		r.Header.Set(k, v)
	}
	r.Host = c.Headers["Host"]
	if c.Headers["Transfer-Encoding"] == "chunked" {
		r.ContentLength = -1
		r.Header.Del("Content-Length")
	} else {
		r.ContentLength = int64(len(body))
	}
	r.Header.Del("Transfer-Encoding")
	return r
}

func do(t *testing.T, r *http.Request) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %d %s", r.Method, r.URL.Path, resp.StatusCode, b)
	}
	return resp.StatusCode, resp.Header, m
}

// TestCapturedRequests replays the signed X-Ray requests of the captures
// (AWS CLI v1 and aws-sdk-go-v2) with the clock at their X-Amz-Date: each
// verifies and is answered; the same request 16 minutes later, with one
// body byte changed, or from an unknown key is refused with 403 and
// x-amzn-ErrorType, as X-Ray (REST-JSON) refuses them. The unsigned ones
// (the SDKs' sampling calls, the Go SDK's chunked) go to the daemon's TCP
// port.
func TestCapturedRequests(t *testing.T) {
	h := newHarness(t)
	d, err := daemon.Start(daemon.Config{Addr: "127.0.0.1:0", Env: h.env, Pipeline: h.pipe, Assembler: h.api.Assembler,
		Sampling: h.api.Sampling, Fallback: h.api.Unsigned(h.env), Log: h.api.Log})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	signed := 0
	for _, c := range captures(t) {
		date := c.Headers["X-Amz-Date"]
		if date == "" {
			code, hdr, m := do(t, c.request("http://"+d.Addr(), c.Body))
			if code != 200 || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("%s: %d %v", c.Path, code, m)
			}
			switch c.Path {
			case "/GetSamplingRules":
				recs := m["SamplingRuleRecords"].([]any)
				r := recs[len(recs)-1].(map[string]any)
				if _, ok := r["ModifiedAt"].(float64); !ok || r["SamplingRule"].(map[string]any)["RuleName"] != "Default" {
					t.Fatalf("%v", m)
				}
			case "/SamplingTargets":
				td := m["SamplingTargetDocuments"].([]any)[0].(map[string]any)
				if _, ok := m["LastRuleModification"].(float64); !ok || td["FixedRate"] != 0.05 || td["ReservoirQuota"] != 1.0 {
					t.Fatalf("%v", m)
				}
			}
			continue
		}
		signed++
		at, err := time.Parse("20060102T150405Z", date)
		if err != nil {
			t.Fatal(err)
		}
		h.setNow(at)
		code, hdr, m := do(t, c.request(h.srv.URL, c.Body))
		if code != 200 {
			t.Fatalf("%s (%s): %d %v", c.Path, c.Headers["User-Agent"][:12], code, m)
		}
		switch c.Path {
		case "/TraceSummaries":
			if s, ok := m["TraceSummaries"].([]any); !ok || len(s) != 0 {
				t.Fatalf("%v", m)
			}
		case "/Traces":
			if fmt.Sprint(m["UnprocessedTraceIds"]) != "[1-58406520-a006649127e371903a2de979]" {
				t.Fatalf("%v", m)
			}
		case "/TraceSegments":
			if u := m["UnprocessedTraceSegments"].([]any); len(u) != 0 {
				t.Fatalf("%v", m)
			}
		case "/CreateGroup":
			g := m["Group"].(map[string]any)
			if g["GroupName"] != "backend-flask" || !strings.HasPrefix(g["GroupARN"].(string), "arn:aws:xray:us-east-1:") {
				t.Fatalf("%v", m)
			}
		case "/SamplingTargets":
			if td := m["SamplingTargetDocuments"].([]any); len(td) != 1 {
				t.Fatalf("%v", m)
			}
		}
		if hdr.Get("x-amzn-RequestId") == "" {
			t.Fatal("no request id")
		}
		// Refusals.
		for name, tc := range map[string]struct {
			now        time.Time
			body, auth string
			code, msg  string
		}{
			"stale":      {at.Add(16 * time.Minute), c.Body, "", "InvalidSignatureException", "Signature expired: " + date + " is now earlier than "},
			"future":     {at.Add(-16 * time.Minute), c.Body, "", "InvalidSignatureException", "Signature not yet current: " + date},
			"tampered":   {at, c.Body + " ", "", "InvalidSignatureException", "The request signature we calculated does not match"},
			"unknownKey": {at, c.Body, strings.Replace(c.Headers["Authorization"], "AKIDEXAMPLE", "AKIDUNKNOWN", 1), "UnrecognizedClientException", "The security token included in the request is invalid."},
			"unsigned":   {at, c.Body, "-", "MissingAuthenticationTokenException", "Missing Authentication Token"},
		} {
			h.setNow(tc.now)
			r := c.request(h.srv.URL, tc.body)
			if tc.auth == "-" {
				r.Header.Del("Authorization")
			} else if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			code, hdr, m := do(t, r)
			if code != 403 || hdr.Get("x-amzn-ErrorType") != tc.code || m["__type"] != tc.code || !strings.HasPrefix(m["message"].(string), tc.msg) {
				t.Errorf("%s %s: %d %s %v", c.Path, name, code, hdr.Get("x-amzn-ErrorType"), m)
			}
		}
	}
	if signed != 6 {
		t.Fatalf("%d signed captures", signed)
	}
	h.setNow(time.Time{})
	// The SDK sees the refusal as AWS's: 403 InvalidSignatureException.
	_, err = h.client("wrong").GetTraceSummaries(context.Background(), &awsxray.GetTraceSummariesInput{StartTime: aws.Time(time.Now().Add(-time.Hour)), EndTime: aws.Time(time.Now())})
	if code, status, _ := apiErr(t, err); code != "InvalidSignatureException" || status != 403 {
		t.Fatal(code, status)
	}
}

// TestUnsignedProxy: the daemon's TCP port answers the sampling calls and
// every other X-Ray operation unsigned, for the daemon's environment, as
// the official daemon proxies them; unknown paths get AWS's error.
func TestUnsignedProxy(t *testing.T) {
	h := newHarness(t)
	d, err := daemon.Start(daemon.Config{Addr: "127.0.0.1:0", Env: h.env, Pipeline: h.pipe, Assembler: h.api.Assembler,
		Sampling: h.api.Sampling, Fallback: h.api.Unsigned(h.env), Log: h.api.Log})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	base := "http://" + d.Addr()
	now := time.Now()
	tid := fmt.Sprintf("%08x%024x", now.Unix(), 7)
	doc := seg(tid, "00000000000000aa", "proxied", float64(now.Unix()), 0.1, "")
	body, _ := json.Marshal(map[string]any{"TraceSegmentDocuments": []string{doc, `{"id":"zz"}`}})
	r, _ := http.NewRequest("POST", base+"/TraceSegments", bytes.NewReader(body))
	code, _, m := do(t, r)
	if code != 200 || fmt.Sprint(m["UnprocessedTraceSegments"]) != "[map[ErrorCode:InvalidId Id:zz Message:Invalid segment. ErrorCode: InvalidId]]" {
		t.Fatal(code, m)
	}
	r, _ = http.NewRequest("POST", base+"/TraceSummaries", strings.NewReader(fmt.Sprintf(`{"StartTime":%d,"EndTime":%d,"FilterExpression":"service(\"proxied\")"}`, now.Unix()-60, now.Unix()+60)))
	code, _, m = do(t, r)
	if code != 200 || len(m["TraceSummaries"].([]any)) != 1 {
		t.Fatal(code, m)
	}
	// A signed client works against the proxy too (the signature is ignored).
	cl := awsxray.New(awsxray.Options{Region: "us-west-2", BaseEndpoint: aws.String(base), Credentials: aws.AnonymousCredentials{}})
	if _, err := cl.CreateGroup(context.Background(), &awsxray.CreateGroupInput{GroupName: aws.String("via-proxy")}); err != nil {
		t.Fatal(err)
	}
	if g, err := h.client(secret).GetGroup(context.Background(), &awsxray.GetGroupInput{GroupName: aws.String("via-proxy")}); err != nil || *g.Group.GroupName != "via-proxy" {
		t.Fatal(g, err)
	}
	r, _ = http.NewRequest("POST", base+"/NoSuchOperation", strings.NewReader(`{}`))
	code, hdr, m := do(t, r)
	if code != 404 || hdr.Get("x-amzn-ErrorType") != "UnknownOperationException" {
		t.Fatal(code, m)
	}
	// Go SDK v1's chunked GetSamplingRules; v2's {"NextToken": null}.
	for _, b := range []string{"", `{"NextToken": null}`} {
		r, _ = http.NewRequest("POST", base+"/GetSamplingRules", io.MultiReader(strings.NewReader(b)))
		r.ContentLength = -1
		code, _, m = do(t, r)
		if code != 200 || len(m["SamplingRuleRecords"].([]any)) != 1 {
			t.Fatal(code, m)
		}
	}
}

// TestAnnotationPrefilter: annotation terms first find the traces with a
// span that carries the annotation (on a subsegment here, not the entry
// span), so only those traces are read.
func TestAnnotationPrefilter(t *testing.T) {
	h := newHarness(t)
	now := time.Now().Truncate(time.Second)
	var docs []string
	for i := range 300 {
		hex := fmt.Sprintf("%08x%024x", now.Unix()-60, i)
		sub := ""
		if i%100 == 5 {
			sub = `,"subsegments":[{"id":"` + fmt.Sprintf("%016x", 0x10000+i) + `","name":"db","start_time":` + fmt.Sprint(now.Unix()-60) + `.2,"end_time":` + fmt.Sprint(now.Unix()-60) + `.3,"annotations":{"tag":"rare","n":` + fmt.Sprint(i) + `}}]`
		}
		docs = append(docs, seg(hex, fmt.Sprintf("%016x", i+1), "svc", float64(now.Unix()-60), 0.5, sub))
	}
	h.put(t, docs...)
	cl := h.client(secret)
	start, end := now.Add(-5*time.Minute), now
	for expr, want := range map[string][2]int64{
		`annotation.tag = "rare"`:              {3, 3},
		`annotation.tag`:                       {3, 3},
		`annotation.n > 100`:                   {2, 2},
		`annotation.tag BEGINSWITH "ra" fault`: {0, 0}, // both pushed down: nothing to read
		`annotation.tag = "none"`:              {0, 0},
		`annotation.missing`:                   {0, 300}, // no such column: every trace is read
		`annotation.tag = "rare" OR fault`:     {3, 300}, // OR: no pre-filter
	} {
		out, err := cl.GetTraceSummaries(context.Background(), &awsxray.GetTraceSummariesInput{StartTime: &start, EndTime: &end, FilterExpression: aws.String(expr)})
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]int64{int64(len(out.TraceSummaries)), *out.TracesProcessedCount}; got != want {
			t.Errorf("%s: %d summaries, %d read; want %v", expr, got[0], got[1], want)
		}
	}
}
