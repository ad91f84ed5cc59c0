package otlp

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/tenant"
)

var writeCorpus = flag.Bool("write-corpus", false, "write the seed corpus under testdata/fuzz")

type discardSink struct{}

func (discardSink) Write(context.Context, event.Batch) error { return nil }

type oneKey struct{}

func (oneKey) Authenticate(_ context.Context, secret string) (*tenant.Principal, error) {
	if secret != "k" {
		return nil, tenant.ErrUnknownKey
	}
	return &tenant.Principal{Env: tenant.Environment{ID: 1},
		Perms: map[tenant.Permission]bool{tenant.PermSendEvents: true, tenant.PermCreateDatasets: true}}, nil
}

func newTestReceiver(t testing.TB) *Receiver {
	p := ingest.New(discardSink{}, ingest.Config{MemoryBudget: 256 << 20})
	t.Cleanup(p.Close)
	return &Receiver{Pipeline: p, Auth: oneKey{}}
}

// seeds returns the mapping inputs of a signal as JSON and as protobuf.
func seeds(t testing.TB, name string) [][]byte {
	b, err := os.ReadFile(filepath.Join("testdata", "mapping", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var pb []byte
	switch name {
	case "traces":
		r := ptraceotlp.NewExportRequest()
		_ = r.UnmarshalJSON(b)
		pb, _ = r.MarshalProto()
	case "logs":
		r := plogotlp.NewExportRequest()
		_ = r.UnmarshalJSON(b)
		pb, _ = r.MarshalProto()
	case "metrics":
		r := pmetricotlp.NewExportRequest()
		_ = r.UnmarshalJSON(b)
		pb, _ = r.MarshalProto()
	}
	return [][]byte{b, pb, []byte("{}"), {}, {0x0a, 0x02, 0x0a, 0x00}}
}

// fuzzHTTP posts body to path and checks the answer is one OTLP defines.
func fuzzHTTP(f *testing.F, name, path string) {
	r := newTestReceiver(f)
	h := r.Handler()
	ss := seeds(f, name)
	for _, s := range ss {
		f.Add(s, false)
		f.Add(s, true)
	}
	if *writeCorpus {
		dir := filepath.Join("testdata", "fuzz", f.Name())
		_ = os.MkdirAll(dir, 0o755)
		for i, s := range ss {
			for _, js := range []bool{false, true} {
				body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", s, js)
				_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d-%v", i, js)), []byte(body), 0o644)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, isJSON bool) {
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("x-honeycomb-team", "k")
		if isJSON {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/x-protobuf")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body.Bytes())
		}
	})
}

func FuzzTracesHTTP(f *testing.F)  { fuzzHTTP(f, "traces", "/v1/traces") }
func FuzzLogsHTTP(f *testing.F)    { fuzzHTTP(f, "logs", "/v1/logs") }
func FuzzMetricsHTTP(f *testing.F) { fuzzHTTP(f, "metrics", "/v1/metrics") }
