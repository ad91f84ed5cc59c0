package honeycomb

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/waggle-hq/waggle/internal/tenant"
)

// authJSON is the body of GET /1/auth.
type authJSON struct {
	ID           string       `json:"id"`
	Type         string       `json:"type"`
	APIKeyAccess apiKeyAccess `json:"api_key_access"`
	Environment  nameSlugJSON `json:"environment"`
	Team         nameSlugJSON `json:"team"`
}

// apiKeyAccess is GET /1/auth's permission summary, in Honeycomb's names.
type apiKeyAccess struct {
	Events         bool `json:"events"`
	Markers        bool `json:"markers"`
	Triggers       bool `json:"triggers"`
	Boards         bool `json:"boards"`
	Queries        bool `json:"queries"`
	Columns        bool `json:"columns"`
	CreateDatasets bool `json:"createDatasets"`
	SLOs           bool `json:"slos"`
	Recipients     bool `json:"recipients"`
	PrivateBoards  bool `json:"privateBoards"`
}

type nameSlugJSON struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

// handleAuth serves GET /1/auth: which key this is, what it may do, and its
// environment and team. Any enabled key may call it.
func (a *API) handleAuth(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, "")
	if p == nil {
		return
	}
	writeJSON(w, http.StatusOK, authJSON{
		ID:   p.KeyID,
		Type: keyType(p),
		APIKeyAccess: apiKeyAccess{
			Events:         p.Can(tenant.PermSendEvents),
			Markers:        p.Can(tenant.PermManageMarkers),
			Triggers:       p.Can(tenant.PermManageTriggers),
			Boards:         p.Can(tenant.PermManageBoards),
			Queries:        p.Can(tenant.PermRunQueries),
			Columns:        p.Can(tenant.PermManageQueries),
			CreateDatasets: p.Can(tenant.PermCreateDatasets),
			SLOs:           p.Can(tenant.PermManageSLOs),
			Recipients:     p.Can(tenant.PermManageRecipients),
			// waggle has one boards permission for public and private boards.
			PrivateBoards: p.Can(tenant.PermManageBoards),
		},
		Environment: nameSlugJSON{Name: p.Env.Name, Slug: p.Env.Slug},
		Team:        nameSlugJSON{Name: p.Team.Name, Slug: p.Team.Slug},
	})
}

// jsonAPIContentType is the media type of Honeycomb's v2 API.
const jsonAPIContentType = "application/vnd.api+json"

// jsonAPIError is one entry of a JSON:API error body.
type jsonAPIError struct {
	Status string `json:"status"`
	Code   string `json:"code,omitempty"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
	Source *struct {
		Pointer string `json:"pointer,omitempty"`
	} `json:"source,omitempty"`
}

// writeJSONAPI writes v with the JSON:API media type.
func writeJSONAPI(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", jsonAPIContentType)
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// writeJSONAPIError writes the v2 API's error body {"errors":[…]}.
func writeJSONAPIError(w http.ResponseWriter, status int, detail string) {
	writeJSONAPIErrorAt(w, status, detail, "")
}

// writeJSONAPIErrorAt is writeJSONAPIError naming the offending field by a
// JSON pointer into the request body.
func writeJSONAPIErrorAt(w http.ResponseWriter, status int, detail, pointer string) {
	e := jsonAPIError{
		Status: strconv.Itoa(status),
		Code:   jsonAPICode(status),
		Title:  http.StatusText(status),
		Detail: detail,
	}
	if pointer != "" {
		e.Source = &struct {
			Pointer string `json:"pointer,omitempty"`
		}{Pointer: pointer}
	}
	writeJSONAPI(w, status, map[string][]jsonAPIError{"errors": {e}})
}

func jsonAPICode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "unparseable"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusConflict:
		return "conflict"
	case http.StatusUnprocessableEntity:
		return "validation_failed"
	}
	return ""
}

// authenticateV2 resolves the key of a /2 request and checks perm and the
// {teamSlug} path segment. The key comes from "Authorization: Bearer …"
// (a secret, or Honeycomb's "<key id>:<secret>") or, as on /1, from
// X-Honeycomb-Team. On failure it writes a JSON:API error and returns nil.
func (a *API) authenticateV2(w http.ResponseWriter, r *http.Request, perm tenant.Permission) *tenant.Principal {
	cred := r.Header.Get("Authorization")
	if cred == "" {
		cred = r.Header.Get(teamHeader)
	}
	if cred == "" {
		cred = r.Header.Get("X-Hny-Team")
	}
	p, err := a.Auth.Authenticate(r.Context(), cred)
	if err != nil {
		if errors.Is(err, tenant.ErrUnknownKey) {
			writeJSONAPIError(w, http.StatusUnauthorized, "unknown API key - check your credentials")
			return nil
		}
		a.Log.Error("authenticate", "err", err)
		writeJSONAPIError(w, http.StatusInternalServerError, "internal error")
		return nil
	}
	if !p.Can(perm) {
		writeJSONAPIError(w, http.StatusForbidden, "API key is missing the permission: "+string(perm))
		return nil
	}
	if r.PathValue("teamSlug") != p.Team.Slug {
		writeJSONAPIError(w, http.StatusNotFound, "team not found")
		return nil
	}
	return p
}
