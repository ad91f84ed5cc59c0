package main

import (
	"encoding/hex"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// generatorVersion names the data the generator makes. Change it whenever
// the generated events change, so cached query data sets are rebuilt.
const generatorVersion = "v1"

// The column names queries refer to.
const (
	colService  = "service.name"
	colName     = "name"
	colTrace    = "trace.trace_id"
	colDuration = "duration_ms"
	colStatus   = "http.status_code"
	colUser     = "user.id"
	colSparse   = "app.attr_s3" // one of the sparse string attributes
)

// sparseValue is the value the sparse-attribute query filters on; each
// sparse string attribute takes one of 1,000 values in 10% of events.
const sparseValue = "value-123"

// filterService is the service of the "service = x AND status >= 500" query.
const filterService = "checkout"

var services = []string{"frontend", "cart", "checkout", "payments", "search"}

// endpoint is one span name: its service, HTTP method and route, and a
// latency scale so that endpoints differ in their percentiles.
type endpoint struct {
	service, method, route, name string
	scale                        float64
}

// endpoints are the 40 span names, 8 per service, in zipf rank order: the
// first is the most frequent.
var endpoints = func() []endpoint {
	routes := [][]string{
		{"GET /", "GET /product/{id}", "GET /cart", "POST /cart/add", "GET /checkout", "GET /static/{file}", "GET /healthz", "POST /login"},
		{"GET /api/cart", "POST /api/cart/items", "DELETE /api/cart/items/{id}", "PUT /api/cart/items/{id}", "GET /api/cart/summary", "POST /api/cart/merge", "GET /api/cart/healthz", "POST /api/cart/expire"},
		{"POST /api/checkout", "GET /api/checkout/{id}", "POST /api/checkout/{id}/confirm", "GET /api/shipping/quote", "POST /api/checkout/{id}/cancel", "GET /api/checkout/healthz", "POST /api/tax/compute", "GET /api/checkout/history"},
		{"POST /api/payments/charge", "POST /api/payments/authorize", "GET /api/payments/{id}", "POST /api/payments/refund", "GET /api/payments/methods", "POST /api/payments/webhook", "GET /api/payments/healthz", "POST /api/payments/capture"},
		{"GET /api/search", "GET /api/search/suggest", "GET /api/search/facets", "POST /api/search/reindex", "GET /api/search/popular", "GET /api/search/healthz", "GET /api/search/similar/{id}", "GET /api/search/recent"},
	}
	var eps []endpoint
	// Interleave services so that zipf ranks spread over them.
	for i := 0; i < 8; i++ {
		for s, svc := range services {
			r := routes[s][i]
			sp := 0
			for sp < len(r) && r[sp] != ' ' {
				sp++
			}
			eps = append(eps, endpoint{
				service: svc, method: r[:sp], route: r[sp+1:], name: r,
				scale: 0.5 + float64((s*8+i)*37%23)/8,
			})
		}
	}
	return eps
}()

// generator makes realistic span events, deterministically from a seed:
// about 30 fields each (26 always present, 20 sparse attributes each in 10%
// of events), 5 services, 40 span names with zipf skew, 2% status 500,
// lognormal durations, 32-hex trace ids with about 10 spans per trace
// interleaved with other traces, 100k user ids.
type generator struct {
	r      *rand.Rand
	zipf   *rand.Zipf
	start  time.Time
	step   time.Duration
	i      int64
	active [64]trace

	users, hosts, pods, sparseVals []string
}

type trace struct {
	id   string
	left int
	root string
}

const numUsers = 100000

func newGenerator(seed uint64, start time.Time, window time.Duration, n int64) *generator {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &generator{r: r, zipf: rand.NewZipf(r, 1.2, 1, uint64(len(endpoints)-1)), start: start}
	if n > 0 {
		g.step = window / time.Duration(n)
	}
	g.users = make([]string, numUsers)
	for i := range g.users {
		g.users[i] = "user-" + strconv.Itoa(100000+i)
	}
	for i := 0; i < 20; i++ {
		g.hosts = append(g.hosts, "ip-10-0-"+strconv.Itoa(i/8)+"-"+strconv.Itoa(10+i)+".eu-west-1.compute.internal")
	}
	for _, s := range services {
		for i := 0; i < 40; i++ {
			g.pods = append(g.pods, s+"-7d9f8b6c4-"+strconv.Itoa(10000+i*37))
		}
	}
	for i := 0; i < 1000; i++ {
		g.sparseVals = append(g.sparseVals, "value-"+strconv.Itoa(i))
	}
	return g
}

func (g *generator) hex(n int) string {
	var b [16]byte
	var out [32]byte
	for i := 0; i < n; i += 8 {
		v := g.r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	hex.Encode(out[:2*n], b[:n])
	return string(out[:2*n])
}

var (
	methods    = []string{"GET", "POST", "PUT", "DELETE"}
	regions    = []string{"eu-west-1", "eu-central-1", "us-east-1"}
	userAgents = []string{
		"Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", "Mozilla/5.0 (Macintosh) Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0) Chrome/131.0", "okhttp/4.12.0", "Go-http-client/1.1",
		"python-requests/2.32.3", "curl/8.11.0", "Mozilla/5.0 (iPhone) Mobile/15E148",
	}
	spanKinds = []string{"server", "client", "internal"}
	sparseStr [10]string
	sparseNum [10]string
)

func init() {
	for i := range sparseStr {
		sparseStr[i] = "app.attr_s" + strconv.Itoa(i)
		sparseNum[i] = "app.attr_n" + strconv.Itoa(i)
	}
}

// next returns the next event, in time order.
func (g *generator) next(dataset string) event.Event {
	r := g.r
	ts := g.start.Add(time.Duration(g.i) * g.step)
	g.i++

	// Pick a trace in flight; start a new one when it is done.
	tr := &g.active[r.IntN(len(g.active))]
	parent := ""
	if tr.left <= 0 {
		tr.id = g.hex(16)
		tr.left = 1 + r.IntN(19)
		tr.root = g.hex(8)
		parent = ""
	} else {
		parent = tr.root
	}
	tr.left--
	spanID := g.hex(8)
	if parent == "" {
		spanID = tr.root
	}

	ep := &endpoints[g.zipf.Uint64()]
	status := int64(200)
	switch x := r.IntN(1000); {
	case x < 20:
		status = 500
	case x < 50:
		status = 404
	case x < 60:
		status = 302
	}
	dur := math.Exp(r.NormFloat64()*1.1+2.5) * ep.scale
	if status == 500 {
		dur *= 3
	}
	fs := make([]event.Field, 0, 32)
	add := func(k string, v event.Value) { fs = append(fs, event.Field{Key: k, Value: v}) }
	add(colService, event.String(ep.service))
	add(colName, event.String(ep.name))
	add(colTrace, event.String(tr.id))
	add("trace.span_id", event.String(spanID))
	if parent != "" {
		add("trace.parent_id", event.String(parent))
	}
	add(colDuration, event.Float(dur))
	add("http.method", event.String(ep.method))
	add("http.route", event.String(ep.route))
	add(colStatus, event.Int(status))
	add(colUser, event.String(g.users[r.IntN(len(g.users))]))
	add("span.kind", event.String(spanKinds[min(r.IntN(8), 2)]))
	otelStatus := int64(0)
	if status == 500 {
		otelStatus = 2
	}
	add("status_code", event.Int(otelStatus))
	add("error", event.Bool(status == 500))
	add("meta.signal_type", event.String("trace"))
	add("library.name", event.String("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"))
	add("library.version", event.String("0.60.0"))
	add("host.name", event.String(g.hosts[r.IntN(len(g.hosts))]))
	add("cloud.region", event.String(regions[r.IntN(len(regions))]))
	add("k8s.pod.name", event.String(g.pods[r.IntN(len(g.pods))]))
	add("k8s.namespace.name", event.String("prod"))
	add("deployment.environment", event.String("production"))
	add("net.peer.port", event.Int(int64(30000+r.IntN(30000))))
	add("http.request_content_length", event.Int(r.Int64N(100000)))
	add("http.response_content_length", event.Int(r.Int64N(1000000)))
	add("http.user_agent", event.String(userAgents[r.IntN(len(userAgents))]))
	add("span.num_events", event.Int(r.Int64N(3)))
	add("span.num_links", event.Int(0))
	add("telemetry.sdk.version", event.String("1.35.0"))
	for j := 0; j < 10; j++ {
		if r.IntN(10) == 0 {
			add(sparseStr[j], event.String(g.sparseVals[r.IntN(len(g.sparseVals))]))
		}
		if r.IntN(10) == 0 {
			add(sparseNum[j], event.Float(math.Round(r.Float64()*100000)/100+0.001))
		}
	}
	return event.Event{Time: ts, Dataset: dataset, SampleRate: 1, Fields: fs}
}

// appendBatchJSON appends events as a Honeycomb /1/batch body:
// [{"time":…,"samplerate":1,"data":{…}},…].
func appendBatchJSON(b []byte, evs []event.Event) []byte {
	b = append(b, '[')
	for i := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		e := &evs[i]
		b = append(b, `{"time":"`...)
		b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","samplerate":`...)
		b = strconv.AppendInt(b, e.SampleRate, 10)
		b = append(b, `,"data":{`...)
		for j := range e.Fields {
			if j > 0 {
				b = append(b, ',')
			}
			f := &e.Fields[j]
			b = appendJSONString(b, f.Key)
			b = append(b, ':')
			switch f.Value.Type() {
			case event.TypeString:
				b = appendJSONString(b, f.Value.Str())
			case event.TypeInt:
				b = strconv.AppendInt(b, f.Value.Int(), 10)
			case event.TypeFloat:
				n := len(b)
				b = strconv.AppendFloat(b, f.Value.Float(), 'g', -1, 64)
				integral := true
				for _, c := range b[n:] {
					if c == '.' || c == 'e' || c == 'E' {
						integral = false
					}
				}
				if integral { // keep it a float for the decoder
					b = append(b, ".0"...)
				}
			case event.TypeBool:
				b = strconv.AppendBool(b, f.Value.Bool())
			default:
				b = append(b, "null"...)
			}
		}
		b = append(b, "}}"...)
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
