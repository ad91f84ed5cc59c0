package honeycomb

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Honeycomb's v2 environments API. A key holding manage_keys sees its own
// environment; a key holding manage_environments sees, creates, changes and
// deletes every environment of its team.

type envAttrsJSON struct {
	Name        string `json:"name"`
	Slug        string `json:"slug"`
	Description string `json:"description"`
	Color       string `json:"color"`
	Settings    struct {
		DeleteProtected bool `json:"delete_protected"`
	} `json:"settings"`
}

type envResourceJSON struct {
	ID         string       `json:"id"`
	Type       string       `json:"type"`
	Attributes envAttrsJSON `json:"attributes"`
}

// envDocIn is the body of POST and PATCH environments.
type envDocIn struct {
	Data struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Attributes struct {
			Name        *string `json:"name"`
			Slug        *string `json:"slug"`
			Description *string `json:"description"`
			Color       *string `json:"color"`
			Settings    *struct {
				DeleteProtected *bool `json:"delete_protected"`
			} `json:"settings"`
		} `json:"attributes"`
	} `json:"data"`
}

func envOut(e tenant.Environment) envResourceJSON {
	out := envResourceJSON{ID: envRef(e.ID), Type: "environments"}
	out.Attributes = envAttrsJSON{Name: e.Name, Slug: e.Slug, Description: e.Description, Color: e.Color}
	out.Attributes.Settings.DeleteProtected = e.DeleteProtected
	return out
}

// envAdmin authenticates a request that needs manage_environments.
func (a *API) envAdmin(w http.ResponseWriter, r *http.Request) (*tenant.Principal, tenantAdmin) {
	p := a.authenticateV2(w, r, tenant.PermManageEnvironments)
	if p == nil {
		return nil, nil
	}
	adm := a.admin()
	if adm == nil {
		writeJSONAPIError(w, http.StatusNotImplemented, "environment management is not available on this server")
		return nil, nil
	}
	return p, adm
}

// teamEnv returns the environment named by the {id} path value if the
// principal may see it: its own, or any of its team's with
// manage_environments.
func (a *API) teamEnv(r *http.Request, p *tenant.Principal, adm tenantAdmin) (tenant.Environment, error) {
	id := r.PathValue("id")
	if id != envRef(p.Env.ID) && !p.Can(tenant.PermManageEnvironments) {
		return tenant.Environment{}, tenant.ErrNotFound
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return tenant.Environment{}, tenant.ErrNotFound
	}
	e, err := adm.Environment(r.Context(), event.EnvID(n))
	if err != nil {
		return tenant.Environment{}, err
	}
	if e.Team != p.Team.ID {
		return tenant.Environment{}, tenant.ErrNotFound
	}
	return e, nil
}

// handleListEnvironments serves GET /2/teams/{teamSlug}/environments.
func (a *API) handleListEnvironments(w http.ResponseWriter, r *http.Request) {
	p, adm := a.keyAdmin(w, r)
	if p == nil {
		return
	}
	var envs []tenant.Environment
	var err error
	if p.Can(tenant.PermManageEnvironments) {
		envs, err = adm.Environments(r.Context(), p.Team.ID)
	} else {
		var e tenant.Environment
		e, err = adm.Environment(r.Context(), p.Env.ID)
		envs = []tenant.Environment{e}
	}
	if err != nil {
		a.tenantError(w, err, "environment not found")
		return
	}
	data := make([]envResourceJSON, len(envs))
	for i, e := range envs {
		data[i] = envOut(e)
	}
	writeJSONAPI(w, http.StatusOK, map[string]any{"data": data})
}

// handleGetEnvironment serves GET /2/teams/{teamSlug}/environments/{id}.
func (a *API) handleGetEnvironment(w http.ResponseWriter, r *http.Request) {
	p, adm := a.keyAdmin(w, r)
	if p == nil {
		return
	}
	e, err := a.teamEnv(r, p, adm)
	if err != nil {
		a.tenantError(w, err, "environment not found")
		return
	}
	writeJSONAPI(w, http.StatusOK, map[string]any{"data": envOut(e)})
}

// decodeEnvDoc reads an environment document, checking its type.
func decodeEnvDoc(w http.ResponseWriter, r *http.Request) (*envDocIn, bool) {
	var in envDocIn
	if err := mgmtDecode(w, r, &in); err != nil {
		writeJSONAPIError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	if in.Data.Type != "" && in.Data.Type != "environments" {
		writeJSONAPIErrorAt(w, http.StatusUnprocessableEntity, `type must be "environments"`, "/data/type")
		return nil, false
	}
	return &in, true
}

// handleCreateEnvironment serves POST /2/teams/{teamSlug}/environments.
func (a *API) handleCreateEnvironment(w http.ResponseWriter, r *http.Request) {
	p, adm := a.envAdmin(w, r)
	if p == nil {
		return
	}
	in, ok := decodeEnvDoc(w, r)
	if !ok {
		return
	}
	at := in.Data.Attributes
	if at.Name == nil || strings.TrimSpace(*at.Name) == "" {
		writeJSONAPIErrorAt(w, http.StatusUnprocessableEntity, "name is required", "/data/attributes/name")
		return
	}
	spec := tenant.EnvironmentSpec{Name: *at.Name}
	if at.Slug != nil {
		spec.Slug = *at.Slug
	}
	if at.Description != nil {
		spec.Description = *at.Description
	}
	if at.Color != nil {
		spec.Color = *at.Color
	}
	if at.Settings != nil && at.Settings.DeleteProtected != nil {
		spec.DeleteProtected = *at.Settings.DeleteProtected
	}
	e, err := adm.CreateEnvironment(r.Context(), p.Team.ID, spec)
	if err != nil {
		a.tenantError(w, err, "team not found")
		return
	}
	writeJSONAPI(w, http.StatusCreated, map[string]any{"data": envOut(e)})
}

// handleUpdateEnvironment serves PATCH /2/teams/{teamSlug}/environments/{id}:
// name, description, color and delete protection; the slug never changes.
func (a *API) handleUpdateEnvironment(w http.ResponseWriter, r *http.Request) {
	p, adm := a.envAdmin(w, r)
	if p == nil {
		return
	}
	in, ok := decodeEnvDoc(w, r)
	if !ok {
		return
	}
	e, err := a.teamEnv(r, p, adm)
	if err != nil {
		a.tenantError(w, err, "environment not found")
		return
	}
	at := in.Data.Attributes
	u := tenant.EnvironmentUpdate{Name: at.Name, Description: at.Description, Color: at.Color}
	if at.Settings != nil {
		u.DeleteProtected = at.Settings.DeleteProtected
	}
	e, err = adm.UpdateEnvironment(r.Context(), e.ID, u)
	if err != nil {
		a.tenantError(w, err, "environment not found")
		return
	}
	writeJSONAPI(w, http.StatusOK, map[string]any{"data": envOut(e)})
}

// handleDeleteEnvironment serves DELETE /2/teams/{teamSlug}/environments/{id}:
// the environment, its keys, and every dataset with its events. A
// delete-protected environment, or the requesting key's own, is refused.
func (a *API) handleDeleteEnvironment(w http.ResponseWriter, r *http.Request) {
	p, adm := a.envAdmin(w, r)
	if p == nil {
		return
	}
	e, err := a.teamEnv(r, p, adm)
	if err != nil {
		a.tenantError(w, err, "environment not found")
		return
	}
	switch {
	case e.ID == p.Env.ID:
		writeJSONAPIError(w, http.StatusConflict, "cannot delete the environment of the key making the request")
		return
	case e.DeleteProtected:
		writeJSONAPIError(w, http.StatusConflict, "environment is delete protected; turn settings.delete_protected off first")
		return
	}
	datasets, err := a.Store.Datasets(r.Context(), e.ID)
	if err != nil {
		a.Log.Error("delete environment: list datasets", "env", e.ID, "err", err)
		writeJSONAPIError(w, http.StatusInternalServerError, "internal error")
		return
	}
	// Keys go first, so nothing can write into the environment while its
	// datasets are removed.
	if err := adm.DeleteEnvironment(r.Context(), e.ID); err != nil {
		a.tenantError(w, err, "environment not found")
		return
	}
	var errs []error
	for _, d := range datasets {
		errs = append(errs, a.Store.DeleteDataset(r.Context(), e.ID, d.Slug))
	}
	if err := errors.Join(errs...); err != nil {
		a.Log.Error("delete environment: datasets", "env", e.ID, "err", err)
		writeJSONAPIError(w, http.StatusInternalServerError, "environment deleted, but some of its datasets could not be removed")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
