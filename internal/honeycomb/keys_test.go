package honeycomb

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/waggle-hq/waggle/internal/tenant"
)

type keyDoc struct {
	Data keyResourceJSON `json:"data"`
}

type keyListDoc struct {
	Data  []keyResourceJSON `json:"data"`
	Links struct {
		Next string `json:"next"`
	} `json:"links"`
}

func newKeyBody(name, keyType string, perms map[string]bool) map[string]any {
	attrs := map[string]any{"name": name, "key_type": keyType}
	if perms != nil {
		attrs["permissions"] = perms
	}
	return map[string]any{"data": map[string]any{"type": "api-keys", "attributes": attrs}}
}

func TestKeysV2Lifecycle(t *testing.T) {
	h := newMgmtHarness(t)
	base := "/2/teams/" + h.team.Slug + "/api-keys"

	var created keyDoc
	h.doJSON("POST", base, h.adminA, newKeyBody("ci", "configuration",
		map[string]bool{"run_queries": true, "manage_columns": true, "read_service_maps": true}), http.StatusCreated, &created)
	k := created.Data
	if k.Type != "api-keys" || !strings.HasPrefix(k.ID, tenant.KeyIDPrefix) || k.Attributes.Name != "ci" ||
		k.Attributes.KeyType != "configuration" || !strings.HasPrefix(k.Attributes.Secret, tenant.SecretPrefix) ||
		!k.Attributes.Permissions.RunQueries || !k.Attributes.Permissions.ManageColumns || k.Attributes.Permissions.SendEvents ||
		k.Relationships.Environment.Data != (resourceRef{ID: envRef(h.envA.ID), Type: "environments"}) {
		t.Fatalf("created = %+v", k)
	}
	secret := k.Attributes.Secret
	var auth authJSON
	h.doJSON("GET", "/1/auth", secret, nil, http.StatusOK, &auth)
	if auth.ID != k.ID || !auth.APIKeyAccess.Queries || auth.APIKeyAccess.Events {
		t.Fatalf("new key's /1/auth = %+v", auth)
	}
	// Honeycomb's "<key id>:<secret>" bearer form works too.
	h.doJSON("GET", base+"/"+k.ID, h.adminA, nil, http.StatusOK, nil)
	code, _ := h.do("GET", "/2/teams/"+h.team.Slug+"/environments", k.ID+":"+h.adminA, nil)
	if code != http.StatusUnauthorized {
		t.Fatalf("mismatched id:secret = %d", code)
	}

	var got keyDoc
	h.doJSON("GET", base+"/"+k.ID, h.adminA, nil, http.StatusOK, &got)
	if got.Data.Attributes.Secret != "" || got.Data.ID != k.ID {
		t.Fatalf("GET shows %+v", got.Data)
	}
	var list keyListDoc
	h.doJSON("GET", base, h.adminA, nil, http.StatusOK, &list)
	found := false
	for _, item := range list.Data {
		found = found || item.ID == k.ID
		if item.Attributes.Secret != "" {
			t.Fatal("list shows a secret")
		}
	}
	if !found {
		t.Fatal("list lacks the new key")
	}

	var updated keyDoc
	h.doJSON("PATCH", base+"/"+k.ID, h.adminA, map[string]any{"data": map[string]any{"id": k.ID, "type": "api-keys",
		"attributes": map[string]any{"name": "ci-2", "disabled": true}}}, http.StatusOK, &updated)
	if updated.Data.Attributes.Name != "ci-2" || !updated.Data.Attributes.Disabled || !updated.Data.Attributes.Permissions.RunQueries {
		t.Fatalf("patched = %+v", updated.Data)
	}
	if code, _ := h.do("GET", "/1/auth", secret, nil); code != http.StatusUnauthorized {
		t.Fatalf("disabled key authenticates: %d", code)
	}
	h.doJSON("PATCH", base+"/"+k.ID, h.adminA, map[string]any{"data": map[string]any{
		"attributes": map[string]any{"disabled": false, "permissions": map[string]bool{"send_events": true}}}}, http.StatusOK, &updated)
	if updated.Data.Attributes.KeyType != "ingest" {
		t.Fatalf("narrowed key type = %q", updated.Data.Attributes.KeyType)
	}
	h.doJSON("GET", "/1/auth", secret, nil, http.StatusOK, &auth)
	if auth.Type != "ingest" {
		t.Fatalf("re-enabled key = %+v", auth)
	}

	h.doJSON("DELETE", base+"/"+k.ID, h.adminA, nil, http.StatusNoContent, nil)
	if code, _ := h.do("GET", "/1/auth", secret, nil); code != http.StatusUnauthorized {
		t.Fatalf("deleted key authenticates: %d", code)
	}
	h.doJSON("GET", base+"/"+k.ID, h.adminA, nil, http.StatusNotFound, nil)
	h.doJSON("DELETE", base+"/"+k.ID, h.adminA, nil, http.StatusNotFound, nil)

	var ingest keyDoc
	h.doJSON("POST", base, h.adminA, newKeyBody("collector", "ingest", map[string]bool{"create_datasets": true}), http.StatusCreated, &ingest)
	p := ingest.Data.Attributes.Permissions
	if ingest.Data.Attributes.KeyType != "ingest" || !p.SendEvents || !p.CreateDatasets || p.RunQueries {
		t.Fatalf("ingest key = %+v", ingest.Data)
	}
}

func TestKeysV2Errors(t *testing.T) {
	h := newMgmtHarness(t)
	base := "/2/teams/" + h.team.Slug + "/api-keys"
	limited := h.key(h.envA, tenant.PermManageKeys, tenant.PermSendEvents)
	tests := []struct {
		name   string
		method string
		path   string
		secret string
		body   any
		want   int
	}{
		{"other team", "GET", "/2/teams/elsewhere/api-keys", h.adminA, nil, http.StatusNotFound},
		{"escalation", "POST", base, limited, newKeyBody("x", "configuration", map[string]bool{"run_queries": true}), http.StatusForbidden},
		{"escalation by patch", "PATCH", base + "/" + mustKeyID(t, h, limited), limited,
			map[string]any{"data": map[string]any{"attributes": map[string]any{"permissions": map[string]bool{"manage_slos": true}}}}, http.StatusForbidden},
		{"within own permissions", "POST", base, limited, newKeyBody("x", "ingest", nil), http.StatusCreated},
		{"no name", "POST", base, h.adminA, newKeyBody("", "ingest", nil), http.StatusUnprocessableEntity},
		{"bad key type", "POST", base, h.adminA, newKeyBody("x", "management", nil), http.StatusUnprocessableEntity},
		{"ingest with query", "POST", base, h.adminA, newKeyBody("x", "ingest", map[string]bool{"run_queries": true}), http.StatusUnprocessableEntity},
		{"unknown permission", "POST", base, h.adminA, newKeyBody("x", "configuration", map[string]bool{"fly": true}), http.StatusUnprocessableEntity},
		{"wrong type", "POST", base, h.adminA, map[string]any{"data": map[string]any{"type": "boards"}}, http.StatusUnprocessableEntity},
		{"bad json", "POST", base, h.adminA, "{", http.StatusBadRequest},
		{"id mismatch", "PATCH", base + "/wki_x", h.adminA, map[string]any{"data": map[string]any{"id": "wki_y"}}, http.StatusConflict},
		{"bad page size", "GET", base + "?page[size]=0", h.adminA, nil, http.StatusBadRequest},
		{"bad filter", "GET", base + "?filter[type]=x", h.adminA, nil, http.StatusBadRequest},
	}
	for _, tc := range tests {
		code, raw := h.do(tc.method, tc.path, tc.secret, tc.body)
		if code != tc.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, code, raw, tc.want)
			continue
		}
		if code >= 400 {
			var e struct {
				Errors []jsonAPIError `json:"errors"`
			}
			if err := json.Unmarshal(raw, &e); err != nil || len(e.Errors) != 1 || e.Errors[0].Detail == "" {
				t.Errorf("%s: not a JSON:API error: %s", tc.name, raw)
			}
		}
	}
}

// mustKeyID returns the key id of secret.
func mustKeyID(tb testing.TB, h *mgmtHarness, secret string) string {
	tb.Helper()
	p, err := h.svc.Authenticate(tb.Context(), secret)
	if err != nil {
		tb.Fatal(err)
	}
	return p.KeyID
}

func TestKeysV2Pagination(t *testing.T) {
	h := newMgmtHarness(t)
	base := "/2/teams/" + h.team.Slug + "/api-keys"
	for range 4 {
		h.key(h.envA, tenant.PermSendEvents)
	}
	all := map[string]bool{}
	next := base + "?page[size]=2"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		var doc keyListDoc
		h.doJSON("GET", next, h.adminA, nil, http.StatusOK, &doc)
		if len(doc.Data) > 2 {
			t.Fatalf("page of %d", len(doc.Data))
		}
		for _, k := range doc.Data {
			if all[k.ID] {
				t.Fatalf("key %s on two pages", k.ID)
			}
			all[k.ID] = true
		}
		next = doc.Links.Next
	}
	if len(all) != 6 { // adminA, the bootstrap key and four more
		t.Fatalf("paged through %d keys, want 6", len(all))
	}
	var ingest keyListDoc
	h.doJSON("GET", base+"?filter[type]=ingest", h.adminA, nil, http.StatusOK, &ingest)
	if len(ingest.Data) != 4 {
		t.Fatalf("filter[type]=ingest gave %d keys", len(ingest.Data))
	}
}

// TestKeysV2Isolation: a key of environment A cannot see or change B's keys,
// create keys in B, or see B in the environment list.
func TestKeysV2Isolation(t *testing.T) {
	h := newMgmtHarness(t)
	base := "/2/teams/" + h.team.Slug + "/api-keys"
	idB := mustKeyID(t, h, h.adminB)
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{"GET", base + "/" + idB, nil},
		{"PATCH", base + "/" + idB, map[string]any{"data": map[string]any{"attributes": map[string]any{"disabled": true}}}},
		{"DELETE", base + "/" + idB, nil},
		{"GET", "/2/teams/" + h.team.Slug + "/environments/" + envRef(h.envB.ID), nil},
		{"POST", base, map[string]any{"data": map[string]any{"type": "api-keys",
			"attributes":    map[string]any{"name": "x", "key_type": "ingest"},
			"relationships": map[string]any{"environment": map[string]any{"data": map[string]any{"id": envRef(h.envB.ID), "type": "environments"}}}}}},
	} {
		if code, raw := h.do(tc.method, tc.path, h.adminA, tc.body); code != http.StatusNotFound {
			t.Errorf("%s %s from env A = %d %s, want 404", tc.method, tc.path, code, raw)
		}
	}
	if _, err := h.svc.Authenticate(t.Context(), h.adminB); err != nil {
		t.Fatalf("env B's key was changed: %v", err)
	}
	var list keyListDoc
	h.doJSON("GET", base, h.adminA, nil, http.StatusOK, &list)
	for _, k := range list.Data {
		if k.ID == idB || k.Relationships.Environment.Data.ID != envRef(h.envA.ID) {
			t.Fatalf("env A's list shows %+v", k)
		}
	}
	var envs struct {
		Data []envResourceJSON `json:"data"`
	}
	h.doJSON("GET", "/2/teams/"+h.team.Slug+"/environments", h.adminA, nil, http.StatusOK, &envs)
	if len(envs.Data) != 1 || envs.Data[0].ID != envRef(h.envA.ID) || envs.Data[0].Attributes.Slug != "default" {
		t.Fatalf("environments = %+v", envs.Data)
	}
	h.doJSON("GET", "/2/teams/"+h.team.Slug+"/environments/"+envRef(h.envA.ID), h.adminA, nil, http.StatusOK, nil)
}

// TestEnvironmentsV2TeamAdmin: a key holding manage_environments creates an
// environment, makes a key in it and manages that key, and deletes the
// environment with its datasets; a key without the permission cannot.
func TestEnvironmentsV2TeamAdmin(t *testing.T) {
	h := newMgmtHarness(t)
	admin := h.key(h.envA, tenant.AllPermissions...)
	envs := "/2/teams/" + h.team.Slug + "/environments"
	newEnv := map[string]any{"data": map[string]any{"type": "environments", "attributes": map[string]any{"name": "Staging"}}}

	if code, raw := h.do("POST", envs, h.adminA, newEnv); code != http.StatusForbidden {
		t.Fatalf("create environment without manage_environments = %d %s, want 403", code, raw)
	}
	var created struct {
		Data envResourceJSON `json:"data"`
	}
	h.doJSON("POST", envs, admin, newEnv, http.StatusCreated, &created)
	if created.Data.Attributes.Slug != "staging" {
		t.Fatalf("created %+v", created.Data)
	}
	var list struct {
		Data []envResourceJSON `json:"data"`
	}
	h.doJSON("GET", envs, admin, nil, http.StatusOK, &list)
	if len(list.Data) != 3 {
		t.Fatalf("admin lists %d environments, want 3", len(list.Data))
	}

	keys := "/2/teams/" + h.team.Slug + "/api-keys"
	var key struct {
		Data keyResourceJSON `json:"data"`
	}
	h.doJSON("POST", keys, admin, map[string]any{"data": map[string]any{"type": "api-keys",
		"attributes":    map[string]any{"name": "staging ingest", "key_type": "ingest"},
		"relationships": map[string]any{"environment": map[string]any{"data": map[string]any{"id": created.Data.ID, "type": "environments"}}}}},
		http.StatusCreated, &key)
	p, err := h.svc.Authenticate(t.Context(), key.Data.Attributes.Secret)
	if err != nil || envRef(p.Env.ID) != created.Data.ID {
		t.Fatalf("new key authenticates to %+v, %v; want environment %s", p, err, created.Data.ID)
	}
	h.doJSON("GET", keys+"/"+key.Data.ID, admin, nil, http.StatusOK, nil)

	if code, raw := h.do("DELETE", envs+"/"+envRef(h.envA.ID), admin, nil); code != http.StatusConflict {
		t.Fatalf("deleting the admin's own environment = %d %s, want 409", code, raw)
	}
	if code, raw := h.do("DELETE", envs+"/"+created.Data.ID, admin, nil); code != http.StatusNoContent {
		t.Fatalf("delete environment = %d %s", code, raw)
	}
	if _, err := h.svc.Authenticate(t.Context(), key.Data.Attributes.Secret); err == nil {
		t.Fatal("a key of a deleted environment still authenticates")
	}
}
