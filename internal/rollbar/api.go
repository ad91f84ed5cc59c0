// Package rollbar implements Rollbar's API: the item endpoint the official
// SDKs post to (pyrollbar, rollbar-go, rollbar.js), grouping of occurrences
// into items, the read and manage API, deploys, and webhook notifications.
//
// Every occurrence is also an event in the environment's error dataset
// (Dataset, "errors"), linked to its trace when the payload or the request
// carries a trace id, so errors show up in queries and traces like any
// other event. See docs/guides/rollbar.md.
package rollbar

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/notify"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Dataset is the dataset occurrences are written to, in the environment of
// the token that posted them.
const Dataset = "errors"

// Source is the notify source of Rollbar's notifications.
const Source = "rollbar"

// API serves Rollbar's API.
type API struct {
	Store    store.Store
	Pipeline *ingest.Pipeline
	Tokens   *tenant.RollbarTokens
	Items    *Items
	// Notify, if set, delivers webhook notifications.
	Notify *notify.Deliverer
	Log    *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// BaseURL, if set, is used for the links in notifications.
	BaseURL string

	lastOccID atomic.Int64
	notifyQ   chan []Change
}

// Register mounts the API on mux and starts the notification sender.
func (a *API) Register(mux *http.ServeMux) {
	if a.Log == nil {
		a.Log = slog.Default()
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Notify != nil && a.Items != nil {
		a.notifyQ = make(chan []Change, 1024)
		a.Items.OnChange = func(ch []Change) {
			select {
			case a.notifyQ <- ch:
			default:
				a.Log.Warn("rollbar: notification queue full, dropping notifications", "changes", len(ch))
			}
		}
		go a.sendNotifications()
	}
	h := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, cors(f)) }
	for _, p := range []string{"/api/1/item/{$}", "/api/1/item"} {
		h("POST "+p, a.handlePostItem)
		h("OPTIONS "+p, preflight)
	}
	h("GET /api/1/status/ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("pong"))
	})
	for _, p := range []string{"/api/1/items", "/api/1/items/{$}"} {
		h("GET "+p, a.handleListItems)
	}
	h("GET /api/1/item/{$}", a.handleItemByUUID)
	h("GET /api/1/item/{id}", a.handleGetItem)
	h("PATCH /api/1/item/{id}", a.handlePatchItem)
	h("OPTIONS /api/1/item/{id}", preflight)
	h("GET /api/1/item_by_counter/{counter}", a.handleItemByCounter)
	for _, p := range []string{"/api/1/item/{id}/instances", "/api/1/item/{id}/instances/{$}"} {
		h("GET "+p, a.handleItemInstances)
	}
	for _, p := range []string{"/api/1/instances", "/api/1/instances/{$}"} {
		h("GET "+p, a.handleInstances)
	}
	h("GET /api/1/instance/{id}", a.handleGetInstance)
	for _, p := range []string{"/api/1/deploy", "/api/1/deploy/{$}"} {
		h("POST "+p, a.handlePostDeploy)
		h("OPTIONS "+p, preflight)
	}
	for _, p := range []string{"/api/1/deploys", "/api/1/deploys/{$}"} {
		h("GET "+p, a.handleListDeploys)
	}
	h("GET /api/1/deploy/{id}", a.handleGetDeploy)
	h("PATCH /api/1/deploy/{id}", a.handlePatchDeploy)
	for _, p := range []string{"/api/1/webhooks", "/api/1/webhooks/{$}"} {
		h("GET "+p, a.handleListWebhooks)
		h("POST "+p, a.handleCreateWebhook)
	}
	h("GET /api/1/webhooks/{id}", a.handleGetWebhook)
	h("DELETE /api/1/webhooks/{id}", a.handleDeleteWebhook)
	h("GET /api/1/webhooks/{id}/deliveries", a.handleWebhookDeliveries)
	for _, p := range []string{"/api/1/access_tokens", "/api/1/access_tokens/{$}"} {
		h("GET "+p, a.handleListTokens)
		h("POST "+p, a.handleCreateToken)
	}
	h("DELETE /api/1/access_tokens/{id}", a.handleDeleteToken)
}

// Close stops the notification sender.
func (a *API) Close() {
	if a.notifyQ != nil {
		close(a.notifyQ)
	}
}

// cors adds CORS headers to every response; Rollbar's browser SDK posts
// with a custom header, so its requests are preflighted.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", o)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "X-Rate-Limit-Limit, X-Rate-Limit-Remaining, X-Rate-Limit-Remaining-Seconds, X-Rate-Limit-Reset")
		}
		next.ServeHTTP(w, r)
	})
}

// preflight answers OPTIONS, echoing the requested headers: rollbar.js's
// fetch transport may ask for arbitrary ones.
func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Allow", "GET, POST, PATCH, DELETE, OPTIONS")
	if r.Header.Get("Origin") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		} else {
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Rollbar-Access-Token")
		}
		h.Set("Access-Control-Max-Age", "86400")
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	w.WriteHeader(http.StatusNoContent)
}

// Error messages.
const (
	msgTokenMissing = "access token required"
	msgTooLarge     = "request entity too large"
	msgRateLimited  = "rate limit reached: waggle is overloaded, retry later"
	msgUnavailable  = "service unavailable, retry later"
	msgNotFound     = "not found"
)

// writeResult answers {"err":0,"result":v}.
func writeResult(w http.ResponseWriter, status int, v any) {
	writeJSON(w, status, map[string]any{"err": 0, "result": v})
}

// writeErr answers {"err":1,"message":msg}.
func writeErr(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"err": 1, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"err":1,"message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeRateLimited answers 429 with Rollbar's rate-limit headers; the Node
// SDK backs off for X-Rate-Limit-Remaining-Seconds.
func (a *API) writeRateLimited(w http.ResponseWriter) {
	secs := int64((ingest.RetryAfter + time.Second - 1) / time.Second)
	h := w.Header()
	h.Set("X-Rate-Limit-Limit", "0")
	h.Set("X-Rate-Limit-Remaining", "0")
	h.Set("X-Rate-Limit-Remaining-Seconds", itoa(secs))
	h.Set("X-Rate-Limit-Reset", itoa(a.Now().Unix()+secs))
	h.Set("Retry-After", itoa(secs))
	writeErr(w, http.StatusTooManyRequests, msgRateLimited)
}

// presentedToken is the token of a request: the X-Rollbar-Access-Token
// header, else the access_token query parameter.
func presentedToken(r *http.Request) string {
	if t := r.Header.Get("X-Rollbar-Access-Token"); t != "" {
		return t
	}
	return r.URL.Query().Get("access_token")
}

// authenticate resolves token and checks it with allowed; need names what
// was missing. On failure it answers 403 and returns nil.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request, token string, allowed func(*tenant.RollbarPrincipal) bool, need string) *tenant.RollbarPrincipal {
	if token == "" {
		writeErr(w, http.StatusForbidden, msgTokenMissing)
		return nil
	}
	p, err := a.Tokens.Authenticate(r.Context(), token)
	if err != nil {
		writeErr(w, http.StatusForbidden, "access token not found: "+redact(token))
		return nil
	}
	if !allowed(p) {
		writeErr(w, http.StatusForbidden, "insufficient privileges: this access token lacks "+need)
		return nil
	}
	return p
}

// hasScope allows principals holding s.
func hasScope(s tenant.RollbarScope) func(*tenant.RollbarPrincipal) bool {
	return func(p *tenant.RollbarPrincipal) bool { return p.Has(s) }
}

// scopeOrPerm allows Rollbar tokens holding s and waggle keys holding perm.
func scopeOrPerm(s tenant.RollbarScope, perm tenant.Permission) func(*tenant.RollbarPrincipal) bool {
	return func(p *tenant.RollbarPrincipal) bool {
		if p.Key != nil {
			return p.Key.Can(perm)
		}
		return p.Has(s)
	}
}

// wagglePerm allows waggle keys holding perm only.
func wagglePerm(perm tenant.Permission) func(*tenant.RollbarPrincipal) bool {
	return func(p *tenant.RollbarPrincipal) bool { return p.Key != nil && p.Key.Can(perm) }
}

// redact shows the start of a token only.
func redact(t string) string {
	t = cleanString(t, 64)
	if len(t) > 6 {
		return t[:6] + "…"
	}
	return t
}

// remoteIP is the caller's address, without port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// anonymizeIP zeroes the last octet of an IPv4 address and the last 80 bits
// of an IPv6 address.
func anonymizeIP(s string) string {
	ip := net.ParseIP(s)
	if ip == nil {
		return s
	}
	if v4 := ip.To4(); v4 != nil {
		v4[3] = 0
		return v4.String()
	}
	for i := 6; i < 16; i++ {
		ip[i] = 0
	}
	return ip.String()
}

func itoa(n int64) string {
	b := make([]byte, 0, 20)
	return string(appendInt(b, n))
}

func appendInt(b []byte, n int64) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// isClientPlatform reports Rollbar's client-side platforms, which a
// post_client_item token may post for.
func isClientPlatform(p string) bool {
	switch strings.ToLower(p) {
	case "browser", "android", "ios", "flash", "client":
		return true
	}
	return false
}

// submitError maps a pipeline error to the answer.
func (a *API) submitError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ingest.ErrOverloaded):
		a.writeRateLimited(w)
	case errors.Is(err, context.Canceled):
		writeErr(w, http.StatusServiceUnavailable, msgUnavailable)
	default:
		a.Log.Error("rollbar: submit occurrence", "err", err)
		w.Header().Set("Retry-After", "1")
		writeErr(w, http.StatusServiceUnavailable, msgUnavailable)
	}
}
