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

	// Declare a column ahead of its data.
	var made columnJSON
	h.doJSON("POST", "/1/columns/svc", h.adminA, map[string]any{"key_name": "retries", "type": "integer", "description": "how many", "hidden": true},
		http.StatusCreated, &made)
	if made.ID == "" || made.KeyName != "retries" || made.Type != "integer" || made.Description != "how many" || !made.Hidden ||
		made.CreatedAt == "" || made.LastWritten != nil {
		t.Fatalf("created column = %+v", made)
	}
	h.doJSON("GET", "/1/columns/svc/"+made.ID, h.adminA, nil, http.StatusOK, &one)
	if one != made {
		t.Fatalf("created column read back = %+v, want %+v", one, made)
	}
	var plain columnJSON
	h.doJSON("POST", "/1/columns/svc", h.adminA, map[string]any{"key_name": "note"}, http.StatusCreated, &plain)
	if plain.Type != "string" || plain.ID == made.ID {
		t.Fatalf("column without a type = %+v", plain)
	}
	for _, tc := range []struct {
		body any
		path string
		want int
	}{
		{map[string]any{"key_name": "retries", "type": "string"}, "/1/columns/svc", http.StatusConflict},
		{map[string]any{"key_name": "x"}, "/1/columns/nope", http.StatusNotFound},
		{map[string]any{"key_name": "x", "description": string(make([]byte, 256))}, "/1/columns/svc", http.StatusUnprocessableEntity},
		{map[string]any{"key_name": string(make([]byte, 256))}, "/1/columns/svc", http.StatusUnprocessableEntity},
	} {
		code, raw := h.do("POST", tc.path, h.adminA, tc.body)
		if code != tc.want {
			t.Errorf("POST %s = %d %s, want %d", tc.path, code, raw, tc.want)
		}
	}
	// The first value keeps the declared column.
	h.write(h.envA, "svc", map[string]event.Value{"retries": event.Int(3)})
	h.doJSON("GET", "/1/columns/svc?key_name=retries", h.adminA, nil, http.StatusOK, &one)
	if one.ID != made.ID || one.Type != "integer" || one.LastWritten == nil || one.Description != "how many" {
		t.Fatalf("declared column after a write = %+v", one)
	}

	// Delete a column and its data.
	code, raw = h.do("DELETE", "/1/columns/svc/"+id, h.adminA, nil)
	if code != http.StatusNoContent || len(raw) != 0 {
		t.Fatalf("DELETE column = %d %s, want 204", code, raw)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if code, raw := h.do(m, "/1/columns/svc/"+id, h.adminA, nil); code != http.StatusNotFound || legacyError(t, raw) != "column not found" {
			t.Errorf("%s deleted column = %d %s, want 404", m, code, raw)
		}
	}
	if code, _ := h.do("DELETE", "/1/columns/nope/"+id, h.adminA, nil); code != http.StatusNotFound {
		t.Errorf("DELETE column of a missing dataset = %d, want 404", code)
	}
	h.doJSON("GET", "/1/columns/svc", h.adminA, nil, http.StatusOK, &cols)
	for _, c := range cols {
		if c.KeyName == "status" {
			t.Fatalf("deleted column still listed: %+v", cols)
		}
	}
	// Written again, the name makes a new column.
	h.write(h.envA, "svc", map[string]event.Value{"status": event.String("ok")})
	h.doJSON("GET", "/1/columns/svc?key_name=status", h.adminA, nil, http.StatusOK, &one)
	if one.ID == id || one.Type != "string" || one.Description != "" {
		t.Fatalf("column written after delete = %+v", one)
	}
}
