package filter

import (
	"testing"

	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/xray"
)

// Fixture traces, each given as its segment documents (as the daemon would
// receive them):
//
//	A  api (EC2, us-east-1a, i-123, user alice, annotations gameid/age 31/vip)
//	   GET http://api.example.com/v2/users 200, 0.2 s
//	   └ remote call backend.example.com (500, traced) → segment backend: fault, 500, IOError "db down"
//	B  api GET http://api.example.com/v1/x 404 (error), 1.5 s, user bob, age 20
//	   └ remote call ratelimited 429 (throttle; no downstream segment: an inferred node)
//	C  worker 500 (fault), 0.5 s, annotation flag; subsegment step still in progress (partial)
//	D  api POST http://api.example.com/v2/orders 200, 3.2 s
//	   └ aws call DynamoDB PutItem (inferred node AWS::DynamoDB)
var fixtureDocs = map[string][]string{
	"A": {
		`{"trace_id":"1-5f000001-000000000000000000000001","id":"a1a1a1a1a1a1a1a1","name":"api","origin":"AWS::EC2::Instance","user":"alice",
		  "start_time":1000,"end_time":1000.2,
		  "http":{"request":{"method":"GET","url":"http://api.example.com/v2/users","user_agent":"curl/8","client_ip":"10.0.0.1"},"response":{"status":200}},
		  "aws":{"ec2":{"availability_zone":"us-east-1a","instance_id":"i-123"}},
		  "annotations":{"gameid":"817DL6VO","age":31,"vip":true},
		  "subsegments":[{"id":"a2a2a2a2a2a2a2a2","name":"backend.example.com","namespace":"remote","start_time":1000.05,"end_time":1000.15,"fault":true,
		    "http":{"request":{"method":"GET","url":"http://backend.example.com/q","traced":true},"response":{"status":500}}}]}`,
		`{"trace_id":"1-5f000001-000000000000000000000001","id":"a3a3a3a3a3a3a3a3","parent_id":"a2a2a2a2a2a2a2a2","name":"backend",
		  "start_time":1000.06,"end_time":1000.14,"fault":true,"http":{"response":{"status":500}},
		  "cause":{"working_directory":"/srv","exceptions":[{"id":"e1e1e1e1e1e1e1e1","type":"IOError","message":"db down"}]}}`,
	},
	"B": {
		`{"trace_id":"1-5f000002-000000000000000000000002","id":"b1b1b1b1b1b1b1b1","name":"api","user":"bob","start_time":2000,"end_time":2001.5,"error":true,
		  "http":{"request":{"method":"GET","url":"http://api.example.com/v1/x"},"response":{"status":404}},"annotations":{"age":20},
		  "subsegments":[{"id":"b2b2b2b2b2b2b2b2","name":"ratelimited","namespace":"remote","start_time":2000.1,"end_time":2000.2,"throttle":true,"error":true,
		    "http":{"response":{"status":429}}}]}`,
	},
	"C": {
		`{"trace_id":"1-5f000003-000000000000000000000003","id":"c1c1c1c1c1c1c1c1","name":"worker","start_time":3000,"end_time":3000.5,"fault":true,
		  "http":{"request":{"method":"GET","url":"http://worker.internal/job"},"response":{"status":500}},"annotations":{"flag":true}}`,
		`{"trace_id":"1-5f000003-000000000000000000000003","id":"c2c2c2c2c2c2c2c2","type":"subsegment","parent_id":"c1c1c1c1c1c1c1c1","name":"step","start_time":3000.1,"in_progress":true}`,
	},
	"D": {
		`{"trace_id":"1-5f000004-000000000000000000000004","id":"d1d1d1d1d1d1d1d1","name":"api","start_time":4000,"end_time":4003.2,
		  "http":{"request":{"method":"POST","url":"http://api.example.com/v2/orders"},"response":{"status":200}},
		  "subsegments":[{"id":"d2d2d2d2d2d2d2d2","name":"DynamoDB","namespace":"aws","start_time":4000.1,"end_time":4000.3,
		    "aws":{"operation":"PutItem","table_name":"orders"},"http":{"response":{"status":200}}}]}`,
	},
}

var fixtureOrder = []string{"A", "B", "C", "D"}

// buildTrace maps documents to events as the daemon does (without the
// assembler, so an in-progress document is stored as it is) and reads them
// back as the API does.
func buildTrace(tb testing.TB, docs []string) *xray.Trace {
	tb.Helper()
	var raw []query.RawEvent
	var tid string
	for _, d := range docs {
		s, err := xray.ParseSegment([]byte(d))
		if err != nil {
			tb.Fatalf("%v: %s", err, d)
		}
		tid = s.TraceID
		for _, e := range xray.Translate(s, "api", nil) {
			raw = append(raw, query.RawEvent{Time: e.Time, Dataset: e.Dataset, SampleRate: 1, Fields: e.Fields})
		}
	}
	w3c, _ := xray.ToW3C(tid)
	return xray.BuildTrace(w3c, raw)
}

func fixtures(tb testing.TB) map[string]*xray.Trace {
	out := map[string]*xray.Trace{}
	for name, docs := range fixtureDocs {
		out[name] = buildTrace(tb, docs)
	}
	return out
}

// testGroups resolves the groups the tests name.
func testGroups(name, arn string) (Expr, bool) {
	exprs := map[string]string{"faulty": "fault", "apis": `service("api")`, "self": `group.name = "self"`}
	if name == "" && arn != "" {
		name = "faulty"
	}
	s, ok := exprs[name]
	if !ok {
		return nil, false
	}
	e, err := Parse(s)
	return e, err == nil
}

func colsOf(names ...string) map[string]query.ColumnInfo {
	m := map[string]query.ColumnInfo{}
	for _, n := range names {
		m[n] = query.ColumnInfo{}
	}
	return m
}
