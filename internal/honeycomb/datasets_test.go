package honeycomb

import (
	"net/http"
	"testing"

	"github.com/waggle-hq/waggle/internal/event"
)

func TestDatasetsLifecycle(t *testing.T) {
	h := newMgmtHarness(t)
	var d datasetJSON
	h.doJSON("POST", "/1/datasets", h.adminA, map[string]any{"name": "My Service", "description": "first"}, http.StatusCreated, &d)
	if d.Name != "My Service" || d.Slug != "my-service" || d.Description != "first" || d.LastWrittenAt != nil ||
		d.RetentionDays != 60 || d.Settings.DeleteProtected || d.CreatedAt == "" {
		t.Fatalf("created = %+v", d)
	}
	// Creating it again returns it unchanged, with 200.
	h.doJSON("POST", "/1/datasets", h.adminA, map[string]any{"name": "my service", "description": "second"}, http.StatusOK, &d)
	if d.Description != "first" {
		t.Fatalf("re-create changed the dataset: %+v", d)
	}

	h.write(h.envA, "My Service", map[string]event.Value{"a": event.Int(1), "b": event.String("x")})
	h.doJSON("GET", "/1/datasets/my-service", h.adminA, nil, http.StatusOK, &d)
	if d.LastWrittenAt == nil || d.RegularColumnsCount < 2 {
		t.Fatalf("after write = %+v", d)
	}

	var list []datasetJSON
	h.doJSON("GET", "/1/datasets", h.adminA, nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].Slug != "my-service" {
		t.Fatalf("list = %+v", list)
	}

	h.doJSON("PUT", "/1/datasets/my-service", h.adminA, map[string]any{
		"description": "updated", "expand_json_depth": 3, "settings": map[string]any{"delete_protected": true}, "retention_days": 7,
	}, http.StatusOK, &d)
	if d.Description != "updated" || d.ExpandJSONDepth != 3 || !d.Settings.DeleteProtected || d.RetentionDays != 7 {
		t.Fatalf("updated = %+v", d)
	}
	// PUT replaces description and expand_json_depth, keeps protection and
	// retention unless given.
	h.doJSON("PUT", "/1/datasets/my-service", h.adminA, map[string]any{}, http.StatusOK, &d)
	if d.Description != "" || d.ExpandJSONDepth != 0 || !d.Settings.DeleteProtected || d.RetentionDays != 7 {
		t.Fatalf("after empty PUT = %+v", d)
	}
	h.doJSON("GET", "/1/datasets/MY-SERVICE", h.adminA, nil, http.StatusOK, &d)
	if !d.Settings.DeleteProtected || d.RetentionDays != 7 {
		t.Fatalf("settings not kept: %+v", d)
	}

	code, raw := h.do("DELETE", "/1/datasets/my-service", h.adminA, nil)
	if code != http.StatusConflict {
		t.Fatalf("delete protected = %d %s", code, raw)
	}
	legacyError(t, raw)
	h.doJSON("PUT", "/1/datasets/my-service", h.adminA, map[string]any{"settings": map[string]any{"delete_protected": false}}, http.StatusOK, &d)
	h.doJSON("DELETE", "/1/datasets/my-service", h.adminA, nil, http.StatusAccepted, nil)
	code, raw = h.do("GET", "/1/datasets/my-service", h.adminA, nil)
	if code != http.StatusNotFound || legacyError(t, raw) != "dataset not found" {
		t.Fatalf("deleted dataset = %d %s", code, raw)
	}
	// A dataset re-created under the same name starts with fresh settings.
	h.doJSON("POST", "/1/datasets", h.adminA, map[string]any{"name": "my-service"}, http.StatusCreated, &d)
	if d.Settings.DeleteProtected || d.RetentionDays != 60 {
		t.Fatalf("re-created = %+v", d)
	}
}

func TestDatasetsErrors(t *testing.T) {
	h := newMgmtHarness(t)
	h.doJSON("POST", "/1/datasets", h.adminA, map[string]any{"name": "ds"}, http.StatusCreated, nil)
	tests := []struct {
		method, path string
		body         any
		want         int
		msg          string
	}{
		{"GET", "/1/datasets/nope", nil, http.StatusNotFound, "dataset not found"},
		{"PUT", "/1/datasets/nope", map[string]any{}, http.StatusNotFound, "dataset not found"},
		{"DELETE", "/1/datasets/nope", nil, http.StatusNotFound, "dataset not found"},
		{"POST", "/1/datasets", "{", http.StatusBadRequest, ""},
		{"POST", "/1/datasets", `{"name":"a"} trailing`, http.StatusBadRequest, ""},
		{"POST", "/1/datasets", map[string]any{}, http.StatusUnprocessableEntity, "name is required"},
		{"POST", "/1/datasets", map[string]any{"name": "x", "expand_json_depth": 11}, http.StatusUnprocessableEntity, ""},
		{"POST", "/1/datasets", map[string]any{"name": "x", "retention_days": 0}, http.StatusUnprocessableEntity, ""},
		{"PUT", "/1/datasets/ds", map[string]any{"retention_days": -1}, http.StatusUnprocessableEntity, ""},
		{"PUT", "/1/datasets/ds", `{"description": 5}`, http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		code, raw := h.do(tc.method, tc.path, h.adminA, tc.body)
		if code != tc.want {
			t.Errorf("%s %s %v = %d %s, want %d", tc.method, tc.path, tc.body, code, raw, tc.want)
			continue
		}
		if msg := legacyError(t, raw); tc.msg != "" && msg != tc.msg {
			t.Errorf("%s %s: error %q, want %q", tc.method, tc.path, msg, tc.msg)
		}
	}
}

// TestEnvironmentIsolation: a key of environment A cannot see or change
// environment B's datasets, columns or keys, even knowing their names and ids.
func TestEnvironmentIsolation(t *testing.T) {
	h := newMgmtHarness(t)
	h.write(h.envB, "secret-b", map[string]event.Value{"card": event.String("4111")})
	h.write(h.envA, "shared-name", map[string]event.Value{"a": event.Int(1)})
	h.write(h.envB, "shared-name", map[string]event.Value{"b": event.Int(2)})
	colsB, err := h.store.Columns(t.Context(), h.envB.ID, "secret-b")
	if err != nil || len(colsB) == 0 {
		t.Fatal(err)
	}
	colB := colsB[0].ID

	var list []datasetJSON
	h.doJSON("GET", "/1/datasets", h.adminA, nil, http.StatusOK, &list)
	for _, d := range list {
		if d.Slug == "secret-b" {
			t.Fatal("env A lists env B's dataset")
		}
	}
	notFound := []struct {
		method, path string
		body         any
	}{
		{"GET", "/1/datasets/secret-b", nil},
		{"PUT", "/1/datasets/secret-b", map[string]any{"description": "pwned"}},
		{"DELETE", "/1/datasets/secret-b", nil},
		{"GET", "/1/columns/secret-b", nil},
		{"GET", "/1/columns/secret-b/" + colB, nil},
		{"PUT", "/1/columns/secret-b/" + colB, map[string]any{"hidden": true}},
		{"DELETE", "/1/columns/secret-b/" + colB, nil},
		{"POST", "/1/columns/secret-b", map[string]any{"key_name": "x"}},
		// A's own dataset of the same name does not expose B's columns.
		{"GET", "/1/columns/shared-name/" + colB, nil},
	}
	for _, tc := range notFound {
		if code, raw := h.do(tc.method, tc.path, h.adminA, tc.body); code != http.StatusNotFound {
			t.Errorf("%s %s from env A = %d %s, want 404", tc.method, tc.path, code, raw)
		}
	}
	var cols []columnJSON
	h.doJSON("GET", "/1/columns/shared-name", h.adminA, nil, http.StatusOK, &cols)
	for _, c := range cols {
		if c.KeyName == "b" {
			t.Error("env A sees env B's column of a same-named dataset")
		}
	}
	// B's data is untouched.
	var d datasetJSON
	h.doJSON("GET", "/1/datasets/secret-b", h.adminB, nil, http.StatusOK, &d)
	if d.Description != "" {
		t.Errorf("env B's dataset changed: %+v", d)
	}
	h.doJSON("GET", "/1/columns/secret-b/"+colB, h.adminB, nil, http.StatusOK, nil)

	// Creating a dataset in A leaves B alone, even with B's dataset name.
	h.doJSON("POST", "/1/datasets", h.adminA, map[string]any{"name": "secret-b"}, http.StatusCreated, nil)
	h.doJSON("DELETE", "/1/datasets/secret-b", h.adminA, nil, http.StatusAccepted, nil)
	h.doJSON("GET", "/1/datasets/secret-b", h.adminB, nil, http.StatusOK, nil)
}
