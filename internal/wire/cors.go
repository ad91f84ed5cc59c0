package wire

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// CORS lets browsers call an API from any origin. Keys travel in headers,
// never in cookies, so no credentials are allowed and any origin may call.
type CORS struct {
	// Methods are the allowed methods besides OPTIONS, e.g. "POST".
	Methods []string
	// Headers are the request headers a browser may send.
	Headers []string
	// Expose are response headers a browser script may read.
	Expose []string
	// MaxAge is how long a browser may cache a preflight answer.
	MaxAge time.Duration
}

// Wrap returns a handler that answers preflight requests (OPTIONS with an
// Access-Control-Request-Method header) itself and adds the CORS response
// headers to every other response of next, including errors, so browser
// scripts can read them.
func (c *CORS) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			c.preflight(w, r)
			return
		}
		c.SetHeaders(w, r)
		next.ServeHTTP(w, r)
	})
}

// Preflight returns a handler that answers OPTIONS requests, preflight or
// not, with 204 No Content and the CORS headers.
func (c *CORS) Preflight() http.Handler {
	return http.HandlerFunc(c.preflight)
}

func (c *CORS) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	c.SetHeaders(w, r)
	methods := strings.Join(append(append([]string(nil), c.Methods...), http.MethodOptions), ", ")
	h.Set("Allow", methods)
	if r.Header.Get("Origin") != "" {
		h.Set("Access-Control-Allow-Methods", methods)
		if len(c.Headers) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.Headers, ", "))
		}
		if c.MaxAge > 0 {
			h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge/time.Second)))
		}
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	w.WriteHeader(http.StatusNoContent)
}

// SetHeaders adds the headers of an actual (non-preflight) CORS response when
// the request carries an Origin. The origin is echoed rather than "*" so
// that responses stay correct should a client send credentials anyway.
func (c *CORS) SetHeaders(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	if len(c.Expose) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.Expose, ", "))
	}
}
