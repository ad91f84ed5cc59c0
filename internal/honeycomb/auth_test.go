package honeycomb

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/waggle-hq/waggle/internal/tenant"
)

func TestAuthEndpoint(t *testing.T) {
	h := newMgmtHarness(t)
	var got authJSON
	h.doJSON("GET", "/1/auth", h.adminA, nil, http.StatusOK, &got)
	p, err := h.svc.Authenticate(t.Context(), h.adminA)
	if err != nil {
		t.Fatal(err)
	}
	want := authJSON{
		ID:   p.KeyID,
		Type: "configuration",
		APIKeyAccess: apiKeyAccess{Events: true, Markers: true, Triggers: true, Boards: true, Queries: true,
			Columns: true, CreateDatasets: true, SLOs: true, Recipients: true, PrivateBoards: true},
		Environment: nameSlugJSON{Name: "Default", Slug: "default"},
		Team:        nameSlugJSON{Name: "Default", Slug: "default"},
	}
	if got != want {
		t.Errorf("GET /1/auth = %+v, want %+v", got, want)
	}

	ingest := h.key(h.envB, tenant.PermSendEvents, tenant.PermCreateDatasets)
	h.doJSON("GET", "/1/auth", ingest, nil, http.StatusOK, &got)
	if got.Type != "ingest" || !got.APIKeyAccess.Events || !got.APIKeyAccess.CreateDatasets || got.APIKeyAccess.Queries ||
		got.Environment != (nameSlugJSON{Name: "B", Slug: "b"}) {
		t.Errorf("ingest key: %+v", got)
	}

	code, raw := h.do("GET", "/1/auth", "", nil)
	if code != http.StatusUnauthorized {
		t.Fatalf("no key: %d", code)
	}
	legacyError(t, raw)
}

// FuzzAuthHeader sends arbitrary X-Honeycomb-Team values to GET /1/auth: the
// answer is 200 only for the real key and 401 otherwise, never a panic.
func FuzzAuthHeader(f *testing.F) {
	h := newMgmtHarness(f)
	for _, s := range []string{"", "x", h.adminA, "Bearer " + h.adminA, "wki_a:" + h.adminA, "\x00", "ÿ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest("GET", "/1/auth", nil)
		req.Header[teamHeader] = []string{header}
		rec := httptest.NewRecorder()
		h.mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusUnauthorized {
			t.Fatalf("GET /1/auth with %q = %d", header, rec.Code)
		}
	})
}
