package honeycomb

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// mgmtHarness serves the management API over a real DuckDB event store and a
// real metadata database, with two environments A and B of one team.
type mgmtHarness struct {
	tb    testing.TB
	mux   *http.ServeMux
	svc   *tenant.Service
	store store.Store
	envA  tenant.Environment
	envB  tenant.Environment
	team  tenant.Team
	// adminA and adminB hold every permission in A and B.
	adminA, adminB string
}

func newMgmtHarness(tb testing.TB) *mgmtHarness {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	db, err := meta.Open(ctx, dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := tenant.NewService(ctx, db, log)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := svc.Bootstrap(ctx, tenant.BootstrapOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	envB, err := svc.CreateEnvironment(ctx, res.Team.ID, tenant.EnvironmentSpec{Name: "B"})
	if err != nil {
		tb.Fatal(err)
	}
	st, err := duckdb.Open(duckdb.Options{Dir: dir + "/events", Logger: log, Threads: 1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	a := &API{Store: st, Auth: svc, Log: log, Now: time.Now}
	mux := http.NewServeMux()
	a.registerManagement(mux)
	h := &mgmtHarness{tb: tb, mux: mux, svc: svc, store: st, envA: res.Environment, envB: envB, team: res.Team}
	h.adminA = h.key(h.envA, envPermissions()...)
	h.adminB = h.key(h.envB, envPermissions()...)
	return h
}

// envPermissions is every permission but team administration: a key that is
// all-powerful within its own environment only.
func envPermissions() []tenant.Permission {
	var perms []tenant.Permission
	for _, p := range tenant.AllPermissions {
		if p != tenant.PermManageEnvironments {
			perms = append(perms, p)
		}
	}
	return perms
}

// key creates a key in env and returns its secret.
func (h *mgmtHarness) key(env tenant.Environment, perms ...tenant.Permission) string {
	h.tb.Helper()
	_, secret, err := h.svc.CreateKey(context.Background(), env.ID, tenant.KeySpec{Name: "test", Perms: perms})
	if err != nil {
		h.tb.Fatal(err)
	}
	return secret
}

// write stores one event with fields in env's dataset.
func (h *mgmtHarness) write(env tenant.Environment, dataset string, fields map[string]event.Value) {
	h.tb.Helper()
	ev := event.Event{Time: time.Now(), Dataset: dataset, SampleRate: 1}
	for k, v := range fields {
		ev.Set(k, v)
	}
	if err := h.store.Write(context.Background(), event.Batch{Env: env.ID, Events: []event.Event{ev}}); err != nil {
		h.tb.Fatal(err)
	}
}

// do sends a /1 request authenticated with X-Honeycomb-Team (a /2 request
// with Authorization: Bearer) and returns the status and body.
func (h *mgmtHarness) do(method, path, secret string, body any) (int, []byte) {
	h.tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			h.tb.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if len(path) > 3 && path[:3] == "/2/" {
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", jsonAPIContentType)
	} else {
		req.Header.Set(teamHeader, secret)
	}
	rec := httptest.NewRecorder()
	h.mux.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// doJSON is do that decodes the body into out and checks the status.
func (h *mgmtHarness) doJSON(method, path, secret string, body any, want int, out any) {
	h.tb.Helper()
	code, raw := h.do(method, path, secret, body)
	if code != want {
		h.tb.Fatalf("%s %s = %d %s, want %d", method, path, code, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			h.tb.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// legacyError decodes a /1 error body.
func legacyError(tb testing.TB, raw []byte) string {
	tb.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err != nil || e.Error == "" {
		tb.Fatalf("not a Honeycomb error body: %s", raw)
	}
	return e.Error
}

// TestManagementPermissions calls every endpoint with a key lacking its
// permission (401 on /1, 403 on /2, as Honeycomb), with an unknown key (401),
// and with a key holding exactly the permission (neither).
func TestManagementPermissions(t *testing.T) {
	h := newMgmtHarness(t)
	h.write(h.envA, "ds", map[string]event.Value{"f": event.String("x")})
	cols, err := h.store.Columns(context.Background(), h.envA.ID, "ds")
	if err != nil || len(cols) == 0 {
		t.Fatalf("columns: %v %v", cols, err)
	}
	col := "/1/columns/ds/" + cols[0].ID
	keys := "/2/teams/" + h.team.Slug + "/api-keys"
	ingest := tenant.PermSendEvents
	tests := []struct {
		method, path string
		body         any
		perm         tenant.Permission // "" = any key; ingest = any non-ingest key
	}{
		{"GET", "/1/auth", nil, ""},
		{"GET", "/1/datasets", nil, ingest},
		{"GET", "/1/datasets/ds", nil, ingest},
		{"POST", "/1/datasets", map[string]any{"name": "new"}, tenant.PermCreateDatasets},
		{"PUT", "/1/datasets/ds", map[string]any{"description": "d"}, tenant.PermCreateDatasets},
		{"DELETE", "/1/datasets/other", nil, tenant.PermCreateDatasets},
		{"GET", "/1/columns/ds", nil, tenant.PermManageQueries},
		{"POST", "/1/columns/ds", map[string]any{"key_name": "c"}, tenant.PermManageQueries},
		{"GET", col, nil, tenant.PermManageQueries},
		{"PUT", col, map[string]any{"hidden": true}, tenant.PermManageQueries},
		{"DELETE", col, nil, tenant.PermManageQueries},
		{"GET", keys, nil, tenant.PermManageKeys},
		{"POST", keys, map[string]any{"data": map[string]any{"type": "api-keys", "attributes": map[string]any{"name": "n", "key_type": "configuration"}}}, tenant.PermManageKeys},
		{"GET", keys + "/wki_none", nil, tenant.PermManageKeys},
		{"PATCH", keys + "/wki_none", map[string]any{"data": map[string]any{"attributes": map[string]any{"name": "n"}}}, tenant.PermManageKeys},
		{"DELETE", keys + "/wki_none", nil, tenant.PermManageKeys},
		{"GET", "/2/teams/" + h.team.Slug + "/environments", nil, tenant.PermManageKeys},
		{"GET", "/2/teams/" + h.team.Slug + "/environments/1", nil, tenant.PermManageKeys},
	}
	denied := http.StatusUnauthorized
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			v2 := tc.path[:3] == "/2/"
			if code, raw := h.do(tc.method, tc.path, "wgk_unknown", tc.body); code != http.StatusUnauthorized {
				t.Errorf("unknown key: %d %s", code, raw)
			}
			if tc.perm != "" {
				// A key with every permission but the one needed. For
				// configuration-key reads that is an ingest key.
				var others []tenant.Permission
				for _, p := range tenant.AllPermissions {
					if p != tc.perm {
						others = append(others, p)
					}
				}
				if tc.perm == ingest {
					others = []tenant.Permission{tenant.PermSendEvents, tenant.PermCreateDatasets}
				}
				want := denied
				if v2 {
					want = http.StatusForbidden
				}
				code, raw := h.do(tc.method, tc.path, h.key(h.envA, others...), tc.body)
				if code != want {
					t.Errorf("without %s: %d %s, want %d", tc.perm, code, raw, want)
				}
				if v2 {
					var e struct {
						Errors []jsonAPIError `json:"errors"`
					}
					if err := json.Unmarshal(raw, &e); err != nil || len(e.Errors) != 1 || e.Errors[0].Status != "403" {
						t.Errorf("not a JSON:API error: %s", raw)
					}
				} else {
					legacyError(t, raw)
				}
			}
			var only []tenant.Permission
			switch tc.perm {
			case "":
			case ingest:
				only = []tenant.Permission{tenant.PermRunQueries}
			default:
				only = []tenant.Permission{tc.perm}
			}
			code, raw := h.do(tc.method, tc.path, h.key(h.envA, only...), tc.body)
			if code == http.StatusUnauthorized || code == http.StatusForbidden || code >= 500 && code != http.StatusNotImplemented {
				t.Errorf("with %v: %d %s", only, code, raw)
			}
		})
	}
}
