package wire

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCORS(t *testing.T) {
	c := &CORS{Methods: []string{"POST"}, Headers: []string{"Content-Type", "X-Key"}, Expose: []string{"Retry-After"}, MaxAge: time.Hour}
	h := c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Run("preflight", func(t *testing.T) {
		r := httptest.NewRequest("OPTIONS", "/x", nil)
		r.Header.Set("Origin", "https://app.example")
		r.Header.Set("Access-Control-Request-Method", "POST")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		want := map[string]string{
			"Access-Control-Allow-Origin":  "https://app.example",
			"Access-Control-Allow-Methods": "POST, OPTIONS",
			"Access-Control-Allow-Headers": "Content-Type, X-Key",
			"Access-Control-Max-Age":       "3600",
		}
		if w.Code != http.StatusNoContent {
			t.Errorf("status %d", w.Code)
		}
		for k, v := range want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
	})
	t.Run("actual", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/x", nil)
		r.Header.Set("Origin", "https://app.example")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusTeapot {
			t.Errorf("status %d", w.Code)
		}
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != "https://app.example" {
			t.Errorf("allow origin %q", got)
		}
		if got := w.Header().Get("Access-Control-Expose-Headers"); got != "Retry-After" {
			t.Errorf("expose %q", got)
		}
	})
	t.Run("no origin", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/x", nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("allow origin %q without Origin", got)
		}
	})
	t.Run("plain options", func(t *testing.T) {
		w := httptest.NewRecorder()
		c.Preflight().ServeHTTP(w, httptest.NewRequest("OPTIONS", "/x", nil))
		if w.Code != http.StatusNoContent || w.Header().Get("Allow") != "POST, OPTIONS" {
			t.Errorf("status %d allow %q", w.Code, w.Header().Get("Allow"))
		}
	})
}
