package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsxray "github.com/aws/aws-sdk-go-v2/service/xray"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
	"github.com/waggle-hq/waggle/internal/tenant"
	"github.com/waggle-hq/waggle/internal/xray"
	"github.com/waggle-hq/waggle/internal/xray/sampling"
)

const (
	keyID  = "AKIDEXAMPLE"
	secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

// harness is the X-Ray API over a real DuckDB store, metadata database and
// ingest pipeline, with a settable clock.
type harness struct {
	api   *API
	srv   *httptest.Server
	env   event.EnvID
	store *duckdb.Store
	pipe  *ingest.Pipeline

	mu  sync.Mutex
	now time.Time // zero: the real clock
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.now.IsZero() {
		return time.Now()
	}
	return h.now
}

func (h *harness) setNow(t time.Time) { h.mu.Lock(); h.now = t; h.mu.Unlock() }

func newHarness(t testing.TB) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := duckdb.Open(duckdb.Options{Dir: dir, MemoryLimit: 512 << 20, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	md, err := meta.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tn, err := tenant.NewService(ctx, md, log)
	if err != nil {
		t.Fatal(err)
	}
	boot, err := tn.Bootstrap(ctx, tenant.BootstrapOptions{AWSAccessKeyID: keyID, AWSSecretAccessKey: secret})
	if err != nil {
		t.Fatal(err)
	}
	pipe := ingest.New(st, ingest.Config{MemoryBudget: 256 << 20, Logger: log})
	h := &harness{env: boot.Environment.ID, store: st, pipe: pipe}
	eng := query.NewEngine(st, honeycomb.NewQueryCatalog(st), query.WithRepository(md))
	h.api = &API{Store: st, Exec: st, Engine: eng, Catalog: honeycomb.NewQueryCatalog(st), Pipeline: pipe, Meta: md,
		Sampling: &sampling.Service{Store: md, Now: h.clock}, Auth: tn, Log: log, Now: h.clock}
	h.api.Init()
	mux := http.NewServeMux()
	h.api.Register(mux)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		h.srv.Close()
		pipe.Close()
		_ = st.Close()
		_ = md.Close()
	})
	return h
}

func (h *harness) client(sec string) *awsxray.Client {
	return awsxray.New(awsxray.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(h.srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(keyID, sec, ""),
	})
}

// put parses documents, assembles them and submits the events as the
// daemon does.
func (h *harness) put(t testing.TB, docs ...string) {
	t.Helper()
	var evs []event.Event
	for _, d := range docs {
		s, err := xray.ParseSegment([]byte(d))
		if err != nil {
			t.Fatalf("%v: %s", err, d)
		}
		evs = h.api.Assembler.Add(h.env, s, time.Now(), evs)
	}
	if err := h.pipe.Submit(context.Background(), event.Batch{Env: h.env, Events: evs}); err != nil {
		t.Fatal(err)
	}
}

// post sends an unsigned request to handler hd and decodes the answer.
func post(t testing.TB, hd http.Handler, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	r := httptest.NewRequest("POST", path, bytes.NewReader([]byte(body)))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	hd.ServeHTTP(w, r)
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s: %v: %s", path, err, w.Body.String())
	}
	return w.Code, w.Header(), m
}
