package ui

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/waggle-hq/waggle/internal/tenant"
	"github.com/waggle-hq/waggle/internal/users"
)

// The settings page's session routes: account (password, sessions), users'
// roles, and the environment's AWS access key pairs and Rollbar tokens.
// Environments, API keys and datasets go through the Honeycomb management
// API mounted on the session mux (MountAPIs).
//
//	PATCH  /users/{id}                      {"role"}                 owner
//	POST   /account/password                {"current","password"}
//	GET    /account/sessions                → {"count"}
//	POST   /account/sessions/revoke         → {"revoked"} (all but this one)
//	GET    /settings/aws-credentials        → [{access_key_id, created_at, updated_at}]
//	POST   /settings/aws-credentials        {"access_key_id","secret"}  owner
//	DELETE /settings/aws-credentials/{id}                              owner
//	GET    /settings/rollbar-tokens         → [{id,name,scopes,disabled,created_at}]
//	POST   /settings/rollbar-tokens         {"name","scopes"} → the token once  owner
//	DELETE /settings/rollbar-tokens/{id}                               owner
func (h *Handler) registerSettings(mux *http.ServeMux) {
	mux.HandleFunc("PATCH /users/{id}", h.owner(h.handleSetRole))
	mux.HandleFunc("POST /account/password", h.handlePassword)
	mux.HandleFunc("GET /account/sessions", h.handleSessionCount)
	mux.HandleFunc("POST /account/sessions/revoke", h.handleRevokeSessions)
	if h.Tenants != nil {
		mux.HandleFunc("GET /settings/aws-credentials", h.handleAWSList)
		mux.HandleFunc("POST /settings/aws-credentials", h.owner(h.handleAWSSet))
		mux.HandleFunc("DELETE /settings/aws-credentials/{id}", h.owner(h.handleAWSDelete))
	}
	if h.RollbarTokens != nil {
		mux.HandleFunc("GET /settings/rollbar-tokens", h.handleRollbarList)
		mux.HandleFunc("POST /settings/rollbar-tokens", h.owner(h.handleRollbarCreate))
		mux.HandleFunc("DELETE /settings/rollbar-tokens/{id}", h.owner(h.handleRollbarDelete))
	}
}

// owner lets only owners through.
func (h *Handler) owner(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if users.Role(userOf(r).Role) != users.RoleOwner {
			writeError(w, http.StatusForbidden, "only an owner may do this")
			return
		}
		next(w, r)
	}
}

func (h *Handler) internalError(w http.ResponseWriter, what string, err error) {
	h.Log.Error("ui: "+what, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

func (h *Handler) handleSetRole(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "no such user")
		return
	}
	var in struct {
		Role string `json:"role"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	role, ok := users.ParseRole(in.Role)
	if !ok {
		writeError(w, http.StatusBadRequest, "role must be owner, member or viewer")
		return
	}
	u, err := h.Users.SetRole(r.Context(), id, role)
	switch {
	case errors.Is(err, users.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, users.ErrLastOwner):
		writeError(w, http.StatusConflict, err.Error())
	case err != nil:
		h.internalError(w, "set role", err)
	default:
		writeJSON(w, http.StatusOK, userView(u))
	}
}

func (h *Handler) handlePassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Current  string `json:"current"`
		Password string `json:"password"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	err := h.Users.ChangePassword(r.Context(), userOf(r), in.Current, in.Password, h.sessionSecret(r))
	switch {
	case errors.Is(err, users.ErrBadCredentials):
		writeError(w, http.StatusForbidden, "the current password is wrong")
	case errors.Is(err, users.ErrInvalid):
		writeError(w, http.StatusBadRequest, "the new password must have at least "+strconv.Itoa(users.MinPasswordLen)+" characters")
	case err != nil:
		h.internalError(w, "change password", err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *Handler) handleSessionCount(w http.ResponseWriter, r *http.Request) {
	n, err := h.Users.SessionCount(r.Context(), userOf(r).ID)
	if err != nil {
		h.internalError(w, "count sessions", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"count": n})
}

func (h *Handler) handleRevokeSessions(w http.ResponseWriter, r *http.Request) {
	n, err := h.Users.RevokeOtherSessions(r.Context(), userOf(r).ID, h.sessionSecret(r))
	if err != nil {
		h.internalError(w, "revoke sessions", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"revoked": n})
}

type awsCredJSON struct {
	AccessKeyID string    `json:"access_key_id"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func (h *Handler) handleAWSList(w http.ResponseWriter, r *http.Request) {
	all, err := h.Meta.AllAWSCredentials(r.Context())
	if err != nil {
		h.internalError(w, "list AWS credentials", err)
		return
	}
	env := int64(principalOf(r).Env.ID)
	out := []awsCredJSON{}
	for _, c := range all {
		if c.EnvID == env {
			out = append(out, awsCredJSON{AccessKeyID: c.AccessKeyID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].AccessKeyID < out[j].AccessKeyID })
	writeJSON(w, http.StatusOK, out)
}

func tenantStatus(err error) (int, bool) {
	switch {
	case errors.Is(err, tenant.ErrInvalid):
		return http.StatusBadRequest, true
	case errors.Is(err, tenant.ErrConflict):
		return http.StatusConflict, true
	case errors.Is(err, tenant.ErrNotFound):
		return http.StatusNotFound, true
	}
	return 0, false
}

func (h *Handler) handleAWSSet(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AccessKeyID string `json:"access_key_id"`
		Secret      string `json:"secret"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	c, err := h.Tenants.SetAWSCredential(r.Context(), principalOf(r).Env.ID, in.AccessKeyID, in.Secret)
	if st, ok := tenantStatus(err); ok {
		writeError(w, st, err.Error())
		return
	}
	if err != nil {
		h.internalError(w, "set AWS credential", err)
		return
	}
	writeJSON(w, http.StatusCreated, awsCredJSON{AccessKeyID: c.AccessKeyID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
}

func (h *Handler) handleAWSDelete(w http.ResponseWriter, r *http.Request) {
	err := h.Tenants.DeleteAWSCredential(r.Context(), principalOf(r).Env.ID, r.PathValue("id"))
	if st, ok := tenantStatus(err); ok {
		writeError(w, st, err.Error())
		return
	}
	if err != nil {
		h.internalError(w, "delete AWS credential", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type rollbarTokenJSON struct {
	ID        string                `json:"id"`
	Name      string                `json:"name"`
	Scopes    []tenant.RollbarScope `json:"scopes"`
	Disabled  bool                  `json:"disabled"`
	CreatedAt time.Time             `json:"created_at"`
	// Token is the secret, only in the answer to its creation.
	Token string `json:"token,omitempty"`
}

func rollbarTokenView(t tenant.RollbarToken) rollbarTokenJSON {
	s := t.Scopes
	if s == nil {
		s = []tenant.RollbarScope{}
	}
	return rollbarTokenJSON{ID: t.ID, Name: t.Name, Scopes: s, Disabled: t.Disabled, CreatedAt: t.CreatedAt}
}

func (h *Handler) handleRollbarList(w http.ResponseWriter, r *http.Request) {
	ts, err := h.RollbarTokens.Tokens(r.Context(), principalOf(r).Env.ID)
	if err != nil {
		h.internalError(w, "list Rollbar tokens", err)
		return
	}
	out := []rollbarTokenJSON{}
	for _, t := range ts {
		out = append(out, rollbarTokenView(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) handleRollbarCreate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name   string                `json:"name"`
		Scopes []tenant.RollbarScope `json:"scopes"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	t, secret, err := h.RollbarTokens.CreateToken(r.Context(), principalOf(r).Env.ID, in.Name, in.Scopes)
	if st, ok := tenantStatus(err); ok {
		writeError(w, st, err.Error())
		return
	}
	if err != nil {
		h.internalError(w, "create Rollbar token", err)
		return
	}
	out := rollbarTokenView(t)
	out.Token = secret
	writeJSON(w, http.StatusCreated, out)
}

func (h *Handler) handleRollbarDelete(w http.ResponseWriter, r *http.Request) {
	err := h.RollbarTokens.DeleteToken(r.Context(), principalOf(r).Env.ID, r.PathValue("id"))
	if st, ok := tenantStatus(err); ok {
		writeError(w, st, err.Error())
		return
	}
	if err != nil {
		h.internalError(w, "delete Rollbar token", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
