// Package ui serves waggle's web UI: the single-page app built from web/
// (embedded from dist/, committed so that `go build` needs no Node), and
// the session API under /ui/api/ it talks to.
//
// The UI calls the same handlers as API clients (the Honeycomb query API,
// the trace API): they are mounted a second time under /ui/api/ with an
// Authenticator that accepts a login session instead of an API key. A
// session is an HttpOnly, SameSite=Lax cookie holding a random secret (only
// its SHA-256 is stored); every authenticated request must also carry the
// session's CSRF token in X-Waggle-CSRF (JavaScript learns it from
// GET /ui/api/session; another site can neither read it nor send a custom
// header without a CORS preflight, which waggle refuses), and a request
// whose Origin is another host is refused. The user acts in the environment
// named by X-Waggle-Environment with the permissions of their role.
package ui

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
	"github.com/waggle-hq/waggle/internal/users"
)

//go:embed all:dist
var distFS embed.FS

// Dist returns the embedded bundle.
func Dist() fs.FS {
	sub, err := fs.Sub(distFS, "dist")
	if err != nil {
		panic(err)
	}
	return sub
}

// Names of the cookie and headers.
const (
	SessionCookie = "waggle_session"
	CSRFHeader    = "X-Waggle-CSRF"
	EnvHeader     = "X-Waggle-Environment"
)

// Handler serves the UI and its session API.
type Handler struct {
	Users  *users.Service
	Meta   *meta.DB
	Engine *query.Engine
	// KeyAuth authenticates API keys for the key-authenticated BubbleUp
	// route (POST /api/v1/bubbleup/{dataset}).
	KeyAuth tenant.Authenticator
	Log     *slog.Logger
	// Tenants, if set, serves the settings page's AWS access key pairs
	// and the session's team.
	Tenants *tenant.Service
	// RollbarTokens, if set, serves the settings page's Rollbar tokens.
	RollbarTokens *tenant.RollbarTokens
	// MountAPIs mounts the existing API handlers (Honeycomb, traces) on the
	// session mux with the given Authenticator.
	MountAPIs func(mux *http.ServeMux, auth tenant.Authenticator)
}

type principalKey struct{}
type userKey struct{}

// sessionAuth is the Authenticator of the session mux: the principal was
// put in the context by requireSession.
type sessionAuth struct{}

func (sessionAuth) Authenticate(ctx context.Context, _ string) (*tenant.Principal, error) {
	if p, ok := ctx.Value(principalKey{}).(*tenant.Principal); ok {
		return p, nil
	}
	return nil, tenant.ErrUnknownKey
}

// SessionAuthenticator returns the Authenticator that session-mounted
// handlers use.
func SessionAuthenticator() tenant.Authenticator { return sessionAuth{} }

// Register mounts the UI on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.Log == nil {
		h.Log = slog.Default()
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusFound)
	})
	mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusFound)
	})
	mux.HandleFunc("GET /ui/", h.serveStatic)
	mux.HandleFunc("POST /api/v1/bubbleup/{dataset}", h.keyBubbleUp)

	api := http.NewServeMux()
	api.HandleFunc("GET /session", h.handleSession)
	api.HandleFunc("POST /login", h.public(h.handleLogin))
	api.HandleFunc("POST /setup", h.public(h.handleSetup))
	api.HandleFunc("POST /logout", h.handleLogout)

	authed := http.NewServeMux()
	authed.HandleFunc("GET /environments", h.handleEnvironments)
	authed.HandleFunc("GET /history", h.handleHistory)
	authed.HandleFunc("POST /history", h.handleAddHistory)
	authed.HandleFunc("GET /users", h.handleUsers)
	authed.HandleFunc("POST /users", h.handleCreateUser)
	authed.HandleFunc("POST /bubbleup/{dataset}", h.sessionBubbleUp)
	h.registerSettings(authed)
	if h.MountAPIs != nil {
		h.MountAPIs(authed, sessionAuth{})
	}
	api.Handle("/", h.requireSession(authed))
	sessionAPI := http.StripPrefix("/ui/api", noStore(api))
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		mux.Handle(m+" /ui/api/", sessionAPI)
	}
}

func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// --- static files ---

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	dist := Dist()
	p := strings.TrimPrefix(path.Clean(r.URL.Path), "/ui")
	p = strings.TrimPrefix(p, "/")
	if strings.HasPrefix(p, "api/") {
		http.NotFound(w, r)
		return
	}
	if p != "" && p != "index.html" {
		if f, err := fs.Stat(dist, p); err == nil && !f.IsDir() {
			if strings.HasPrefix(p, "assets/") {
				// File names carry a content hash.
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			}
			securityHeaders(w)
			http.ServeFileFS(w, r, dist, p)
			return
		}
		if strings.HasPrefix(p, "assets/") {
			http.NotFound(w, r)
			return
		}
	}
	// Every other path is a route of the single-page app.
	b, err := fs.ReadFile(dist, "index.html")
	if err != nil {
		http.Error(w, "the web UI was not built into this binary", http.StatusNotFound)
		return
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

func securityHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
}

// --- session plumbing ---

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// sameOrigin refuses requests from another site: an Origin header naming
// another host, or a browser's Sec-Fetch-Site: cross-site.
func sameOrigin(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	} else if o == "null" {
		return false
	}
	return r.Header.Get("Sec-Fetch-Site") != "cross-site"
}

// public guards the unauthenticated state-changing routes (login, setup):
// same origin, and the custom header present (forcing a preflight on any
// cross-site attempt).
func (h *Handler) public(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !sameOrigin(r) || r.Header.Get(CSRFHeader) == "" {
			writeError(w, http.StatusForbidden, "cross-site request refused")
			return
		}
		next(w, r)
	}
}

func (h *Handler) sessionSecret(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// requireSession authenticates the session cookie and the CSRF header and
// puts the user and their principal in the request's context.
func (h *Handler) requireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := h.sessionSecret(r)
		u, err := h.Users.SessionUser(r.Context(), secret)
		if err != nil {
			if !errors.Is(err, users.ErrNoSession) {
				h.Log.Error("ui: session", "err", err)
			}
			writeError(w, http.StatusUnauthorized, "not logged in")
			return
		}
		if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(users.CSRFToken(secret))) != 1 {
			writeError(w, http.StatusForbidden, "missing or wrong CSRF token")
			return
		}
		p, err := h.Users.Principal(r.Context(), u, r.Header.Get(EnvHeader))
		if err != nil {
			if errors.Is(err, users.ErrInvalid) {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			h.Log.Error("ui: principal", "err", err)
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		ctx := context.WithValue(r.Context(), principalKey{}, p)
		ctx = context.WithValue(ctx, userKey{}, u)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func principalOf(r *http.Request) *tenant.Principal {
	p, _ := r.Context().Value(principalKey{}).(*tenant.Principal)
	return p
}

func userOf(r *http.Request) meta.User {
	u, _ := r.Context().Value(userKey{}).(meta.User)
	return u
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, secret string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    secret,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
	})
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// --- session routes ---

type userJSON struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

func userView(u meta.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role}
}

type envJSON struct {
	Slug  string `json:"slug"`
	Name  string `json:"name"`
	Color string `json:"color,omitempty"`
}

type sessionJSON struct {
	SetupNeeded bool      `json:"setup_needed"`
	User        *userJSON `json:"user,omitempty"`
	// Team is the team's slug (the Honeycomb v2 API's path).
	Team         string    `json:"team,omitempty"`
	CSRF         string    `json:"csrf,omitempty"`
	Environments []envJSON `json:"environments,omitempty"`
}

func (h *Handler) sessionView(ctx context.Context, u meta.User, secret string) (sessionJSON, error) {
	uv := userView(u)
	out := sessionJSON{User: &uv, CSRF: users.CSRFToken(secret)}
	if h.Tenants != nil {
		if t, err := h.Tenants.Team(ctx, u.Team); err == nil {
			out.Team = t.Slug
		}
	}
	envs, err := h.Users.Environments(ctx)
	if err != nil {
		return out, err
	}
	for _, e := range envs {
		out.Environments = append(out.Environments, envJSON{Slug: e.Slug, Name: e.Name, Color: e.Color})
	}
	return out, nil
}

func (h *Handler) handleSession(w http.ResponseWriter, r *http.Request) {
	secret := h.sessionSecret(r)
	u, err := h.Users.SessionUser(r.Context(), secret)
	if err == nil {
		out, err := h.sessionView(r.Context(), u, secret)
		if err != nil {
			h.Log.Error("ui: session view", "err", err)
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if !errors.Is(err, users.ErrNoSession) {
		h.Log.Error("ui: session", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	need, err := h.Users.SetupNeeded(r.Context())
	if err != nil {
		h.Log.Error("ui: setup needed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	writeJSON(w, http.StatusOK, sessionJSON{SetupNeeded: need})
}

type credentials struct {
	Token    string `json:"token"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
	Role     string `json:"role"`
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request, email, password string) {
	secret, u, err := h.Users.Login(r.Context(), email, password)
	if errors.Is(err, users.ErrBadCredentials) {
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	if err != nil {
		h.Log.Error("ui: login", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	setSessionCookie(w, r, secret, int(users.SessionTTL/time.Second))
	out, err := h.sessionView(r.Context(), u, secret)
	if err != nil {
		h.Log.Error("ui: session view", "err", err)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) handleLogin(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if !decodeBody(w, r, &c) {
		return
	}
	h.login(w, r, c.Email, c.Password)
}

func (h *Handler) handleSetup(w http.ResponseWriter, r *http.Request) {
	var c credentials
	if !decodeBody(w, r, &c) {
		return
	}
	u, err := h.Users.CreateOwner(r.Context(), c.Token, c.Email, c.Name, c.Password)
	switch {
	case errors.Is(err, users.ErrSetupUnusable):
		writeError(w, http.StatusForbidden, err.Error())
		return
	case errors.Is(err, users.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		h.Log.Error("ui: setup", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	h.Log.Info("web UI owner created", "email", u.Email)
	h.login(w, r, c.Email, c.Password)
}

func (h *Handler) handleLogout(w http.ResponseWriter, r *http.Request) {
	secret := h.sessionSecret(r)
	if secret != "" {
		if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.Header.Get(CSRFHeader)), []byte(users.CSRFToken(secret))) != 1 {
			writeError(w, http.StatusForbidden, "missing or wrong CSRF token")
			return
		}
		if err := h.Users.Logout(r.Context(), secret); err != nil {
			h.Log.Error("ui: logout", "err", err)
		}
	}
	setSessionCookie(w, r, "", -1)
	w.WriteHeader(http.StatusNoContent)
}

// --- authenticated routes ---

func (h *Handler) handleEnvironments(w http.ResponseWriter, r *http.Request) {
	envs, err := h.Users.Environments(r.Context())
	if err != nil {
		h.Log.Error("ui: environments", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	out := []envJSON{}
	for _, e := range envs {
		out = append(out, envJSON{Slug: e.Slug, Name: e.Name, Color: e.Color})
	}
	writeJSON(w, http.StatusOK, out)
}

type historyJSON struct {
	ID        int64           `json:"id"`
	Dataset   string          `json:"dataset"`
	Query     json.RawMessage `json:"query"`
	CreatedAt time.Time       `json:"created_at"`
}

func (h *Handler) handleHistory(w http.ResponseWriter, r *http.Request) {
	p, u := principalOf(r), userOf(r)
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 && n <= 500 {
			limit = n
		}
	}
	hs, err := h.Meta.History(r.Context(), u.ID, p.Env.ID, limit)
	if err != nil {
		h.Log.Error("ui: history", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	out := []historyJSON{}
	for _, e := range hs {
		out = append(out, historyJSON{ID: e.ID, Dataset: e.Dataset, Query: json.RawMessage(e.Spec), CreatedAt: e.CreatedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) handleAddHistory(w http.ResponseWriter, r *http.Request) {
	p, u := principalOf(r), userOf(r)
	var in struct {
		Dataset string          `json:"dataset"`
		Query   json.RawMessage `json:"query"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Dataset == "" || len(in.Dataset) > 255 || len(in.Query) == 0 || len(in.Query) > 64<<10 || !json.Valid(in.Query) {
		writeError(w, http.StatusBadRequest, "dataset and query (a JSON query spec) are required")
		return
	}
	if err := h.Meta.AddHistory(r.Context(), meta.HistoryEntry{User: u.ID, Env: p.Env.ID, Dataset: in.Dataset, Spec: string(in.Query)}); err != nil {
		h.Log.Error("ui: add history", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) handleUsers(w http.ResponseWriter, r *http.Request) {
	us, err := h.Users.Users(r.Context())
	if err != nil {
		h.Log.Error("ui: users", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	out := []userJSON{}
	for _, u := range us {
		out = append(out, userView(u))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	if users.Role(userOf(r).Role) != users.RoleOwner {
		writeError(w, http.StatusForbidden, "only an owner may add users")
		return
	}
	var c credentials
	if !decodeBody(w, r, &c) {
		return
	}
	role, ok := users.ParseRole(c.Role)
	if !ok {
		writeError(w, http.StatusBadRequest, "role must be owner, member or viewer")
		return
	}
	u, err := h.Users.CreateUser(r.Context(), c.Email, c.Name, c.Password, role)
	switch {
	case errors.Is(err, users.ErrExists):
		writeError(w, http.StatusConflict, err.Error())
		return
	case errors.Is(err, users.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		h.Log.Error("ui: create user", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	writeJSON(w, http.StatusCreated, userView(u))
}
