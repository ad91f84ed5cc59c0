package honeycomb

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/waggle-hq/waggle/internal/event"
)

func TestColumns(t *testing.T) {
	h := newMgmtHarness(t)
	h.write(h.envA, "svc", map[string]event.Value{
		"duration_ms": event.Float(1.5), "status": event.Int(200), "name": event.String("GET /"), "error": event.Bool(false),
	})
	var cols []columnJSON
	h.doJSON("GET", "/1/columns/svc", h.adminA, nil, http.StatusOK, &cols)
	byName := map[string]columnJSON{}
	for _, c := range cols {
		byName[c.KeyName] = c
	}
	for name, typ := range map[string]string{"duration_ms": "float", "status": "integer", "name": "string", "error": "boolean"} {
		c, ok := byName[name]
		if !ok {
			t.Fatalf("column %s missing from %+v", name, cols)
		}
		if c.Type != typ || c.ID == "" || c.CreatedAt == "" || c.LastWritten == nil {
			t.Errorf("column %s = %+v, want type %s", name, c, typ)
		}
	}

	var one columnJSON
	h.doJSON("GET", "/1/columns/svc?key_name="+url.QueryEscape("duration_ms"), h.adminA, nil, http.StatusOK, &one)
	if one.ID != byName["duration_ms"].ID {
		t.Fatalf("by key_name = %+v", one)
	}
	code, raw := h.do("GET", "/1/columns/svc?key_name=nope", h.adminA, nil)
	if code != http.StatusNotFound || legacyError(t, raw) != "column not found" {
		t.Fatalf("unknown key_name = %d %s", code, raw)
	}
	id := byName["status"].ID
	h.doJSON("GET", "/1/columns/svc/"+id, h.adminA, nil, http.StatusOK, &one)
	if one.KeyName != "status" {
		t.Fatalf("by id = %+v", one)
	}

	h.doJSON("PUT", "/1/columns/svc/"+id, h.adminA, map[string]any{"description": "HTTP status", "hidden": true}, http.StatusOK, &one)
	if one.Description != "HTTP status" || !one.Hidden || one.KeyName != "status" {
		t.Fatalf("updated = %+v", one)
	}
	h.doJSON("PUT", "/1/columns/svc/"+id, h.adminA, map[string]any{"hidden": false}, http.StatusOK, &one)
	if one.Description != "HTTP status" || one.Hidden {
		t.Fatalf("partial update = %+v", one)
	}
	h.doJSON("GET", "/1/columns/svc/"+id, h.adminA, nil, http.StatusOK, &one)
	if one.Description != "HTTP status" {
		t.Fatalf("update not kept: %+v", one)
	}

	tests := []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/1/columns/nope", nil, http.StatusNotFound},
		{"GET", "/1/columns/svc/nope", nil, http.StatusNotFound},
		{"PUT", "/1/columns/svc/nope", map[string]any{}, http.StatusNotFound},
		{"PUT", "/1/columns/svc/" + id, map[string]any{"type": "string"}, http.StatusUnprocessableEntity},
		{"PUT", "/1/columns/svc/" + id, map[string]any{"key_name": "other"}, http.StatusUnprocessableEntity},
		{"PUT", "/1/columns/svc/" + id, "not json", http.StatusBadRequest},
		{"POST", "/1/columns/svc", map[string]any{"key_name": "status"}, http.StatusConflict},
		{"POST", "/1/columns/svc", map[string]any{"key_name": "x", "type": "blob"}, http.StatusUnprocessableEntity},
		{"POST", "/1/columns/svc", map[string]any{}, http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		code, raw := h.do(tc.method, tc.path, h.adminA, tc.body)
		if code != tc.want {
			t.Errorf("%s %s %v = %d %s, want %d", tc.method, tc.path, tc.body, code, raw, tc.want)
			continue
		}
		legacyError(t, raw)
	}

	// Declaring and deleting columns need store support; without it the
	// answer says so.
	if _, ok := h.store.(columnCreator); !ok {
		code, raw := h.do("POST", "/1/columns/svc", h.adminA, map[string]any{"key_name": "new", "type": "integer"})
		if code != http.StatusNotImplemented {
			t.Errorf("POST column = %d %s, want 501", code, raw)
		}
	}
	if _, ok := h.store.(columnDeleter); !ok {
		code, raw := h.do("DELETE", "/1/columns/svc/"+id, h.adminA, nil)
		if code != http.StatusNotImplemented {
			t.Errorf("DELETE column = %d %s, want 501", code, raw)
		}
	}
}
