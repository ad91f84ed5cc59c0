package cloudwatchlogs

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
	"github.com/waggle-hq/waggle/internal/tenant"
)

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

// testEnv is a whole node's CloudWatch Logs path: DuckDB store, metadata,
// tenancy with an AWS credential, ingest pipeline and the API behind a real
// HTTP server that routes POST / the way the server does.
type testEnv struct {
	api     *API
	store   *duckdb.Store
	meta    *meta.DB
	tenants *tenant.Service
	env     tenant.Environment
	srv     *httptest.Server
	pipe    *ingest.Pipeline
}

func newTestEnv(tb testing.TB) *testEnv {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := duckdb.Open(duckdb.Options{Dir: dir, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	md, err := meta.Open(ctx, dir)
	if err != nil {
		tb.Fatal(err)
	}
	ts, err := tenant.NewService(ctx, md, log)
	if err != nil {
		tb.Fatal(err)
	}
	boot, err := ts.Bootstrap(ctx, tenant.BootstrapOptions{APIKey: "test-api-key-0123456789abcdef", AWSAccessKeyID: testAKID, AWSSecretAccessKey: testSecret})
	if err != nil {
		tb.Fatal(err)
	}
	pipe := ingest.New(st, ingest.Config{MemoryBudget: 512 << 20, Logger: log})
	api := &API{Store: st, Pipeline: pipe, Meta: md, Auth: ts, Log: log}
	api.Init()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		if Handles(r) {
			api.ServeHTTP(w, r)
			return
		}
		UnknownOperation(w)
	})
	srv := httptest.NewServer(mux)
	e := &testEnv{api: api, store: st, meta: md, tenants: ts, env: boot.Environment, srv: srv, pipe: pipe}
	tb.Cleanup(func() {
		srv.Close()
		pipe.Close()
		_ = api.Flush()
		_ = st.Close()
		_ = md.Close()
	})
	return e
}

// goClient is aws-sdk-go-v2's CloudWatch Logs client pointed at the server.
func (e *testEnv) goClient(secret string) *cwl.Client {
	return cwl.New(cwl.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(e.srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(testAKID, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}
