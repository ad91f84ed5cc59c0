package rollbar

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// RegisterUI mounts the item read and manage routes for the web UI's
// session API (internal/ui), in the environment of the principal auth
// returns (the session's), answered as the Rollbar API answers
// ({"err": 0, "result": …}):
//
//	GET   /rollbar/items?status=&level=&query=&page=
//	GET   /rollbar/items/{id}
//	GET   /rollbar/items/{id}/instances?page=
//	PATCH /rollbar/items/{id}            {"status": "resolved"|"muted"|"active"}
//
// Reading needs the run queries permission, changing a status the manage
// queries one (members and owners).
func (a *API) RegisterUI(mux *http.ServeMux, auth tenant.Authenticator) {
	principal := func(w http.ResponseWriter, r *http.Request, perm tenant.Permission) *tenant.Principal {
		p, err := auth.Authenticate(r.Context(), "")
		if err != nil {
			writeErr(w, http.StatusUnauthorized, "not logged in")
			return nil
		}
		if !p.Can(perm) {
			writeErr(w, http.StatusForbidden, "your role may not do this")
			return nil
		}
		return p
	}
	item := func(w http.ResponseWriter, r *http.Request, env event.EnvID) (Item, bool) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			writeErr(w, http.StatusNotFound, msgNotFound)
			return Item{}, false
		}
		it, err := a.Items.Get(r.Context(), env, id)
		if errors.Is(err, ErrItemNotFound) {
			writeErr(w, http.StatusNotFound, "Item not found in this project.")
			return Item{}, false
		}
		if err != nil {
			a.internal(w, "get item", err)
			return Item{}, false
		}
		return it, true
	}
	mux.HandleFunc("GET /rollbar/items", func(w http.ResponseWriter, r *http.Request) {
		p := principal(w, r, tenant.PermRunQueries)
		if p == nil {
			return
		}
		q := r.URL.Query()
		f := ItemFilter{Query: q.Get("query"), Statuses: multi(q["status"]), Levels: multi(q["level"])}
		items, total, err := a.Items.List(r.Context(), p.Env.ID, f, pageParam(r), itemsPerPage)
		if err != nil {
			a.internal(w, "list items", err)
			return
		}
		out := make([]map[string]any, len(items))
		for i := range items {
			out[i] = itemJSON(&items[i])
		}
		writeResult(w, http.StatusOK, map[string]any{"page": pageParam(r), "total_count": total, "items": out})
	})
	mux.HandleFunc("GET /rollbar/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		p := principal(w, r, tenant.PermRunQueries)
		if p == nil {
			return
		}
		if it, ok := item(w, r, p.Env.ID); ok {
			writeResult(w, http.StatusOK, itemJSON(&it))
		}
	})
	mux.HandleFunc("GET /rollbar/items/{id}/instances", func(w http.ResponseWriter, r *http.Request) {
		p := principal(w, r, tenant.PermRunQueries)
		if p == nil {
			return
		}
		it, ok := item(w, r, p.Env.ID)
		if !ok {
			return
		}
		page := pageParam(r)
		start := time.Unix(it.FirstOccurrenceTS, 0).Add(-time.Hour)
		evs, err := a.rawEvents(r, p.Env.ID, query.Filter{Column: fItemID, Op: query.OpEq, Value: event.Int(it.ID)},
			start, a.Now().Add(time.Minute), page*instancesPerPage)
		if err != nil {
			a.internal(w, "list instances", err)
			return
		}
		writeResult(w, http.StatusOK, map[string]any{"page": page, "instances": instancesPage(p.Env.ID, evs, page, instancesPerPage)})
	})
	mux.HandleFunc("PATCH /rollbar/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		p := principal(w, r, tenant.PermManageQueries)
		if p == nil {
			return
		}
		it, ok := item(w, r, p.Env.ID)
		if !ok {
			return
		}
		var body struct {
			Status string `json:"status"`
		}
		raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil || json.Unmarshal(raw, &body) != nil {
			writeErr(w, http.StatusBadRequest, "invalid JSON body")
			return
		}
		if !slices.Contains([]string{StatusActive, StatusResolved, StatusMuted}, body.Status) {
			writeErr(w, http.StatusUnprocessableEntity, "status must be active, resolved or muted")
			return
		}
		up, err := a.Items.Patch(r.Context(), p.Env.ID, it.ID, ItemPatch{Status: &body.Status}, a.Now().Unix())
		if err != nil {
			a.internal(w, "update item", err)
			return
		}
		writeResult(w, http.StatusOK, itemJSON(&up))
	})
}
