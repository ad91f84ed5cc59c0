package honeycomb

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// Honeycomb's v2 key management API (JSON:API), for waggle keys holding
// manage_keys. A waggle key belongs to one environment and manages only that
// environment's keys; it can grant only permissions it holds itself.
//
// The secret attribute, present only in the answer to a create, is the
// whole credential to send as X-Honeycomb-Team (or as "Bearer <secret>").

// v2Perm maps Honeycomb's permission names to waggle's. Two Honeycomb names
// share a waggle permission (manage_boards, manage_privateBoards); two have
// none and are accepted and ignored on input (read_service_maps, which
// follows run_queries on output, and visible_team_members). manage_keys is a
// waggle extension.
var v2Perms = []struct {
	name string
	perm tenant.Permission
}{
	{"send_events", tenant.PermSendEvents},
	{"create_datasets", tenant.PermCreateDatasets},
	{"manage_columns", tenant.PermManageQueries},
	{"run_queries", tenant.PermRunQueries},
	{"manage_boards", tenant.PermManageBoards},
	{"manage_privateBoards", tenant.PermManageBoards},
	{"manage_slos", tenant.PermManageSLOs},
	{"manage_triggers", tenant.PermManageTriggers},
	{"manage_recipients", tenant.PermManageRecipients},
	{"manage_markers", tenant.PermManageMarkers},
	{"manage_keys", tenant.PermManageKeys},
	{"manage_environments", tenant.PermManageEnvironments},
}

// v2IgnoredPerms are Honeycomb permission names waggle accepts and ignores.
var v2IgnoredPerms = []string{"read_service_maps", "visible_team_members"}

// keyPermsJSON is a key's permissions in Honeycomb's v2 names.
type keyPermsJSON struct {
	SendEvents          bool `json:"send_events"`
	CreateDatasets      bool `json:"create_datasets"`
	ManageColumns       bool `json:"manage_columns"`
	RunQueries          bool `json:"run_queries"`
	ReadServiceMaps     bool `json:"read_service_maps"`
	ManageBoards        bool `json:"manage_boards"`
	ManagePrivateBoards bool `json:"manage_privateBoards"`
	ManageSLOs          bool `json:"manage_slos"`
	ManageTriggers      bool `json:"manage_triggers"`
	ManageRecipients    bool `json:"manage_recipients"`
	ManageMarkers       bool `json:"manage_markers"`
	VisibleTeamMembers  bool `json:"visible_team_members"`
	ManageKeys          bool `json:"manage_keys"`
	ManageEnvironments  bool `json:"manage_environments"`
}

type timestampsJSON struct {
	Created string `json:"created"`
	Updated string `json:"updated"`
}

type keyAttrsJSON struct {
	Name        string         `json:"name"`
	KeyType     string         `json:"key_type"`
	Disabled    bool           `json:"disabled"`
	Secret      string         `json:"secret,omitempty"`
	Permissions keyPermsJSON   `json:"permissions"`
	Timestamps  timestampsJSON `json:"timestamps"`
}

type resourceRef struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type keyResourceJSON struct {
	ID            string       `json:"id"`
	Type          string       `json:"type"`
	Attributes    keyAttrsJSON `json:"attributes"`
	Relationships struct {
		Environment struct {
			Data resourceRef `json:"data"`
		} `json:"environment"`
	} `json:"relationships"`
}

// keyDocIn is the body of POST and PATCH api-keys.
type keyDocIn struct {
	Data struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Attributes struct {
			Name        *string          `json:"name"`
			KeyType     *string          `json:"key_type"`
			Disabled    *bool            `json:"disabled"`
			Permissions *map[string]bool `json:"permissions"`
		} `json:"attributes"`
		Relationships struct {
			Environment struct {
				Data *resourceRef `json:"data"`
			} `json:"environment"`
		} `json:"relationships"`
	} `json:"data"`
}

// Pagination of the key list, as Honeycomb's.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// envRef is an environment's JSON:API id.
func envRef(id event.EnvID) string { return strconv.FormatInt(int64(id), 10) }

func keyTypeOf(perms []tenant.Permission) string {
	for _, p := range perms {
		if p != tenant.PermSendEvents && p != tenant.PermCreateDatasets {
			return "configuration"
		}
	}
	return "ingest"
}

func keyOut(k tenant.Key, secret string) keyResourceJSON {
	var out keyResourceJSON
	out.ID, out.Type = k.ID, "api-keys"
	out.Attributes = keyAttrsJSON{
		Name:     k.Name,
		KeyType:  keyTypeOf(k.Perms),
		Disabled: k.Disabled,
		Secret:   secret,
		Permissions: keyPermsJSON{
			SendEvents:          k.Can(tenant.PermSendEvents),
			CreateDatasets:      k.Can(tenant.PermCreateDatasets),
			ManageColumns:       k.Can(tenant.PermManageQueries),
			RunQueries:          k.Can(tenant.PermRunQueries),
			ReadServiceMaps:     k.Can(tenant.PermRunQueries),
			ManageBoards:        k.Can(tenant.PermManageBoards),
			ManagePrivateBoards: k.Can(tenant.PermManageBoards),
			ManageSLOs:          k.Can(tenant.PermManageSLOs),
			ManageTriggers:      k.Can(tenant.PermManageTriggers),
			ManageRecipients:    k.Can(tenant.PermManageRecipients),
			ManageMarkers:       k.Can(tenant.PermManageMarkers),
			ManageKeys:          k.Can(tenant.PermManageKeys),
			ManageEnvironments:  k.Can(tenant.PermManageEnvironments),
		},
		Timestamps: timestampsJSON{Created: mgmtTime(k.CreatedAt), Updated: mgmtTime(k.UpdatedAt)},
	}
	out.Relationships.Environment.Data = resourceRef{ID: envRef(k.Env), Type: "environments"}
	return out
}

// permsIn translates Honeycomb permission names to waggle's. bad names the
// first unknown name.
func permsIn(m map[string]bool) (perms []tenant.Permission, bad string) {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		i := slices.IndexFunc(v2Perms, func(v struct {
			name string
			perm tenant.Permission
		}) bool {
			return v.name == name
		})
		switch {
		case i >= 0:
			if m[name] && !slices.Contains(perms, v2Perms[i].perm) {
				perms = append(perms, v2Perms[i].perm)
			}
		case slices.Contains(v2IgnoredPerms, name):
		default:
			return nil, name
		}
	}
	return perms, ""
}

// keyAdmin authenticates a /2 key-management request and returns the
// principal and the tenant administration, writing the error if it cannot.
func (a *API) keyAdmin(w http.ResponseWriter, r *http.Request) (*tenant.Principal, tenantAdmin) {
	p := a.authenticateV2(w, r, tenant.PermManageKeys)
	if p == nil {
		return nil, nil
	}
	adm := a.admin()
	if adm == nil {
		writeJSONAPIError(w, http.StatusNotImplemented, "key management is not available on this server")
		return nil, nil
	}
	return p, adm
}

// tenantError writes the JSON:API response for a tenant error.
func (a *API) tenantError(w http.ResponseWriter, err error, notFound string) {
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		writeJSONAPIError(w, http.StatusNotFound, notFound)
	case errors.Is(err, tenant.ErrInvalid):
		writeJSONAPIError(w, http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, tenant.ErrConflict):
		writeJSONAPIError(w, http.StatusConflict, err.Error())
	default:
		a.Log.Error("management: keys", "err", err)
		writeJSONAPIError(w, http.StatusInternalServerError, "internal error")
	}
}

// handleListKeys serves GET /2/teams/{teamSlug}/api-keys with
// filter[type]=ingest|configuration, page[size] and page[after].
func (a *API) handleListKeys(w http.ResponseWriter, r *http.Request) {
	p, adm := a.keyAdmin(w, r)
	if p == nil {
		return
	}
	q := r.URL.Query()
	size := defaultPageSize
	if s := q.Get("page[size]"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageSize {
			writeJSONAPIError(w, http.StatusBadRequest, "page[size] must be between 1 and 100")
			return
		}
		size = n
	}
	typ := q.Get("filter[type]")
	if typ != "" && typ != "ingest" && typ != "configuration" {
		writeJSONAPIError(w, http.StatusBadRequest, "filter[type] must be ingest or configuration")
		return
	}
	env, ok := a.targetEnv(w, r, p, adm, q.Get("filter[environment]"))
	if !ok {
		return
	}
	keys, err := adm.Keys(r.Context(), env)
	if err != nil {
		a.tenantError(w, err, "not found")
		return
	}
	after := q.Get("page[after]")
	started := after == ""
	data := make([]keyResourceJSON, 0, min(size, len(keys)))
	more := false
	for _, k := range keys {
		if !started {
			started = k.ID == after
			continue
		}
		if typ != "" && keyTypeOf(k.Perms) != typ {
			continue
		}
		if len(data) == size {
			more = true
			break
		}
		data = append(data, keyOut(k, ""))
	}
	doc := map[string]any{"data": data}
	if more {
		next := url.Values{"page[after]": {data[len(data)-1].ID}, "page[size]": {strconv.Itoa(size)}}
		if typ != "" {
			next.Set("filter[type]", typ)
		}
		doc["links"] = map[string]string{"next": r.URL.Path + "?" + next.Encode()}
	}
	writeJSONAPI(w, http.StatusOK, doc)
}

// handleGetKey serves GET /2/teams/{teamSlug}/api-keys/{id}.
func (a *API) handleGetKey(w http.ResponseWriter, r *http.Request) {
	p, adm := a.keyAdmin(w, r)
	if p == nil {
		return
	}
	k, err := a.findKey(r, p, adm, r.PathValue("id"))
	if err != nil {
		a.tenantError(w, err, "API key not found")
		return
	}
	writeJSONAPI(w, http.StatusOK, map[string]any{"data": keyOut(k, "")})
}

// grantable checks that p may give a key perms: only what p holds itself.
func grantable(w http.ResponseWriter, p *tenant.Principal, perms []tenant.Permission) bool {
	for _, perm := range perms {
		if !p.Can(perm) {
			writeJSONAPIErrorAt(w, http.StatusForbidden, "cannot grant a permission this key does not hold: "+string(perm), "/data/attributes/permissions")
			return false
		}
	}
	return true
}

// decodeKeyDoc reads a key document, checking its type.
func decodeKeyDoc(w http.ResponseWriter, r *http.Request) (*keyDocIn, bool) {
	var in keyDocIn
	if err := mgmtDecode(w, r, &in); err != nil {
		writeJSONAPIError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	if in.Data.Type != "" && in.Data.Type != "api-keys" {
		writeJSONAPIErrorAt(w, http.StatusUnprocessableEntity, `type must be "api-keys"`, "/data/type")
		return nil, false
	}
	return &in, true
}

// handleCreateKey serves POST /2/teams/{teamSlug}/api-keys. key_type
// "ingest" makes a send_events key (plus create_datasets if asked);
// "configuration" (the default) takes the permissions given. The answer
// carries the secret, which is never shown again.
func (a *API) handleCreateKey(w http.ResponseWriter, r *http.Request) {
	p, adm := a.keyAdmin(w, r)
	if p == nil {
		return
	}
	in, ok := decodeKeyDoc(w, r)
	if !ok {
		return
	}
	attrs := in.Data.Attributes
	if attrs.Name == nil || strings.TrimSpace(*attrs.Name) == "" {
		writeJSONAPIErrorAt(w, http.StatusUnprocessableEntity, "name is required", "/data/attributes/name")
		return
	}
	target := ""
	if ref := in.Data.Relationships.Environment.Data; ref != nil {
		target = ref.ID
	}
	env, ok := a.targetEnv(w, r, p, adm, target)
	if !ok {
		return
	}
	var requested map[string]bool
	if attrs.Permissions != nil {
		requested = *attrs.Permissions
	}
	perms, bad := permsIn(requested)
	if bad != "" {
		writeJSONAPIErrorAt(w, http.StatusUnprocessableEntity, "unknown permission: "+bad, "/data/attributes/permissions")
		return
	}
	kind := "configuration"
	if attrs.KeyType != nil {
		kind = *attrs.KeyType
	}
	switch kind {
	case "ingest":
		for _, perm := range perms {
			if perm != tenant.PermCreateDatasets && perm != tenant.PermSendEvents {
				writeJSONAPIErrorAt(w, http.StatusUnprocessableEntity, "ingest keys can only have create_datasets", "/data/attributes/permissions")
				return
			}
		}
		if !slices.Contains(perms, tenant.PermSendEvents) {
			perms = append(perms, tenant.PermSendEvents)
		}
	case "configuration":
	default:
		writeJSONAPIErrorAt(w, http.StatusUnprocessableEntity, "key_type must be ingest or configuration", "/data/attributes/key_type")
		return
	}
	if !grantable(w, p, perms) {
		return
	}
	spec := tenant.KeySpec{Name: *attrs.Name, Perms: perms}
	if attrs.Disabled != nil {
		spec.Disabled = *attrs.Disabled
	}
	k, secret, err := adm.CreateKey(r.Context(), env, spec)
	if err != nil {
		a.tenantError(w, err, "environment not found")
		return
	}
	writeJSONAPI(w, http.StatusCreated, map[string]any{"data": keyOut(k, secret)})
}

// handleUpdateKey serves PATCH /2/teams/{teamSlug}/api-keys/{id}: name,
// disabled and permissions may change; the key type follows the
// permissions.
func (a *API) handleUpdateKey(w http.ResponseWriter, r *http.Request) {
	p, adm := a.keyAdmin(w, r)
	if p == nil {
		return
	}
	in, ok := decodeKeyDoc(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if in.Data.ID != "" && in.Data.ID != id {
		writeJSONAPIErrorAt(w, http.StatusConflict, "data.id does not match the URL", "/data/id")
		return
	}
	attrs := in.Data.Attributes
	u := tenant.KeyUpdate{Disabled: attrs.Disabled}
	if attrs.Name != nil {
		if strings.TrimSpace(*attrs.Name) == "" {
			writeJSONAPIErrorAt(w, http.StatusUnprocessableEntity, "name cannot be empty", "/data/attributes/name")
			return
		}
		u.Name = attrs.Name
	}
	if attrs.Permissions != nil {
		perms, bad := permsIn(*attrs.Permissions)
		if bad != "" {
			writeJSONAPIErrorAt(w, http.StatusUnprocessableEntity, "unknown permission: "+bad, "/data/attributes/permissions")
			return
		}
		if !grantable(w, p, perms) {
			return
		}
		u.Perms = &perms
	}
	cur, err := a.findKey(r, p, adm, id)
	if err != nil {
		a.tenantError(w, err, "API key not found")
		return
	}
	k, err := adm.UpdateKey(r.Context(), cur.Env, id, u)
	if err != nil {
		a.tenantError(w, err, "API key not found")
		return
	}
	writeJSONAPI(w, http.StatusOK, map[string]any{"data": keyOut(k, "")})
}

// handleDeleteKey serves DELETE /2/teams/{teamSlug}/api-keys/{id}. The key
// stops working at once.
func (a *API) handleDeleteKey(w http.ResponseWriter, r *http.Request) {
	p, adm := a.keyAdmin(w, r)
	if p == nil {
		return
	}
	cur, err := a.findKey(r, p, adm, r.PathValue("id"))
	if err != nil {
		a.tenantError(w, err, "API key not found")
		return
	}
	if err := adm.DeleteKey(r.Context(), cur.Env, cur.ID); err != nil {
		a.tenantError(w, err, "API key not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// targetEnv resolves the environment a key-management request is about: the
// key's own unless id names another, which only a key holding
// manage_environments may address, and only within its team. Anything else
// is "not found", without telling whether the environment exists.
func (a *API) targetEnv(w http.ResponseWriter, r *http.Request, p *tenant.Principal, adm tenantAdmin, id string) (event.EnvID, bool) {
	if id == "" || id == envRef(p.Env.ID) {
		return p.Env.ID, true
	}
	if p.Can(tenant.PermManageEnvironments) {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			if e, err := adm.Environment(r.Context(), event.EnvID(n)); err == nil && e.Team == p.Team.ID {
				return e.ID, true
			}
		}
	}
	writeJSONAPIErrorAt(w, http.StatusNotFound, "environment not found", "/data/relationships/environment/data/id")
	return 0, false
}

// findKey finds a key by id in the principal's environment or, for a key
// holding manage_environments, in any environment of its team.
func (a *API) findKey(r *http.Request, p *tenant.Principal, adm tenantAdmin, id string) (tenant.Key, error) {
	k, err := adm.Key(r.Context(), p.Env.ID, id)
	if err == nil || !errors.Is(err, tenant.ErrNotFound) || !p.Can(tenant.PermManageEnvironments) {
		return k, err
	}
	envs, lerr := adm.Environments(r.Context(), p.Team.ID)
	if lerr != nil {
		return tenant.Key{}, lerr
	}
	for _, e := range envs {
		if e.ID == p.Env.ID {
			continue
		}
		if k, kerr := adm.Key(r.Context(), e.ID, id); kerr == nil {
			return k, nil
		}
	}
	return tenant.Key{}, err
}
