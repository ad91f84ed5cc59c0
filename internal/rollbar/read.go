package rollbar

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// itemsPerPage is Rollbar's page size for GET /api/1/items.
const itemsPerPage = 100

// instancesPerPage is Rollbar's page size for item instances.
const instancesPerPage = 20

// itemJSON is Rollbar's item object. environments and code_versions are
// waggle's additions.
func itemJSON(it *Item) map[string]any {
	nz := func(n int64) any {
		if n == 0 {
			return nil
		}
		return n
	}
	return map[string]any{
		"id":                         it.ID,
		"counter":                    it.Counter,
		"project_id":                 it.EnvID,
		"environment":                it.Environment,
		"environments":               nonNil(it.Envs),
		"code_versions":              nonNil(it.Versions),
		"platform":                   it.Platform,
		"framework":                  it.Framework,
		"language":                   it.Language,
		"hash":                       it.Hash,
		"title":                      it.Title,
		"level":                      it.Level,
		"level_lock":                 0,
		"title_lock":                 0,
		"status":                     it.Status,
		"exception_class":            it.ExceptionClass,
		"total_occurrences":          it.TotalOccurrences,
		"unique_occurrences":         nil,
		"first_occurrence_id":        nz(it.FirstOccurrenceID),
		"first_occurrence_timestamp": nz(it.FirstOccurrenceTS),
		"last_occurrence_id":         nz(it.LastOccurrenceID),
		"last_occurrence_timestamp":  nz(it.LastOccurrenceTS),
		"activating_occurrence_id":   nz(it.ActivatingOccurrenceID),
		"last_activated_timestamp":   nz(it.LastActivatedTS),
		"last_resolved_timestamp":    nz(it.LastResolvedTS),
		"last_muted_timestamp":       nz(it.LastMutedTS),
		"resolved_in_version":        nilIfEmpty(it.ResolvedInVersion),
		"assigned_user_id":           nil,
		"assigned_team_id":           nil,
		"group_item_id":              nil,
		"group_status":               1,
		"integrations_data":          nil,
		"controlling_id":             it.ID,
		"last_modified_by":           nil,
		"public_item_id":             nil,
	}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// readPrincipal authenticates a read request.
func (a *API) readPrincipal(w http.ResponseWriter, r *http.Request) *tenant.RollbarPrincipal {
	return a.authenticate(w, r, presentedToken(r), hasScope(tenant.ScopeRead), "the read scope")
}

// handleListItems serves GET /api/1/items.
func (a *API) handleListItems(w http.ResponseWriter, r *http.Request) {
	p := a.readPrincipal(w, r)
	if p == nil {
		return
	}
	q := r.URL.Query()
	f := ItemFilter{Framework: q.Get("framework"), Query: q.Get("query")}
	for _, s := range multi(q["status"]) {
		if !slices.Contains([]string{StatusActive, StatusResolved, StatusMuted, StatusArchived}, s) {
			writeErr(w, http.StatusUnprocessableEntity, "invalid status "+strconv.Quote(s))
			return
		}
		f.Statuses = append(f.Statuses, s)
	}
	for _, l := range multi(q["level"]) {
		if normLevel(l) == "" {
			writeErr(w, http.StatusUnprocessableEntity, "invalid level "+strconv.Quote(l))
			return
		}
		f.Levels = append(f.Levels, normLevel(l))
	}
	f.Environments = multi(q["environment"])
	for _, s := range multi(q["ids"]) {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			writeErr(w, http.StatusUnprocessableEntity, "invalid ids")
			return
		}
		f.IDs = append(f.IDs, id)
	}
	page := 1
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			writeErr(w, http.StatusUnprocessableEntity, "invalid page")
			return
		}
		page = n
	}
	items, total, err := a.Items.List(r.Context(), p.Env.ID, f, page, itemsPerPage)
	if err != nil {
		a.internal(w, "list items", err)
		return
	}
	out := make([]map[string]any, len(items))
	for i := range items {
		out[i] = itemJSON(&items[i])
	}
	writeResult(w, http.StatusOK, map[string]any{"page": page, "total_count": total, "items": out})
}

// multi splits repeated and comma-separated parameter values.
func multi(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (a *API) internal(w http.ResponseWriter, what string, err error) {
	a.Log.Error("rollbar: "+what, "err", err)
	writeErr(w, http.StatusInternalServerError, "internal error")
}

// itemFromPath finds the item named by the {id} path value; on failure it
// has answered.
func (a *API) itemFromPath(w http.ResponseWriter, r *http.Request, p *tenant.RollbarPrincipal) (Item, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeErr(w, http.StatusNotFound, msgNotFound)
		return Item{}, false
	}
	it, err := a.Items.Get(r.Context(), p.Env.ID, id)
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

// handleGetItem serves GET /api/1/item/{id}.
func (a *API) handleGetItem(w http.ResponseWriter, r *http.Request) {
	p := a.readPrincipal(w, r)
	if p == nil {
		return
	}
	if it, ok := a.itemFromPath(w, r, p); ok {
		writeResult(w, http.StatusOK, itemJSON(&it))
	}
}

// handleItemByCounter serves GET /api/1/item_by_counter/{counter}: 301 to
// the item, as Rollbar does.
func (a *API) handleItemByCounter(w http.ResponseWriter, r *http.Request) {
	p := a.readPrincipal(w, r)
	if p == nil {
		return
	}
	c, err := strconv.ParseInt(r.PathValue("counter"), 10, 64)
	if err != nil {
		writeErr(w, http.StatusNotFound, msgNotFound)
		return
	}
	it, err := a.Items.ByCounter(r.Context(), p.Env.ID, c)
	if errors.Is(err, ErrItemNotFound) {
		writeErr(w, http.StatusNotFound, "Item not found in this project.")
		return
	}
	if err != nil {
		a.internal(w, "get item by counter", err)
		return
	}
	path := fmt.Sprintf("/api/1/item/%d", it.ID)
	w.Header().Set("Location", path)
	writeResult(w, http.StatusMovedPermanently, map[string]any{"itemId": it.ID, "path": path, "uri": path})
}

// handleItemByUUID serves GET /api/1/item/?uuid=: the item of an
// occurrence.
func (a *API) handleItemByUUID(w http.ResponseWriter, r *http.Request) {
	p := a.readPrincipal(w, r)
	if p == nil {
		return
	}
	u := r.URL.Query().Get("uuid")
	if u == "" || len(u) > 36 {
		writeErr(w, http.StatusBadRequest, "Invalid UUID format")
		return
	}
	evs, err := a.rawEvents(r, p.Env.ID, query.Filter{Column: fUUID, Op: query.OpEq, Value: event.String(u)},
		a.Now().Add(-store60Days), a.Now().Add(time.Minute), 1)
	if err != nil {
		a.internal(w, "find occurrence by uuid", err)
		return
	}
	if len(evs) == 0 {
		writeErr(w, http.StatusNotFound, "UUID did not match any occurrence")
		return
	}
	id, _ := fieldInt(evs[0], fItemID)
	it, err := a.Items.Get(r.Context(), p.Env.ID, id)
	if err != nil {
		writeErr(w, http.StatusNotFound, "UUID did not match any occurrence")
		return
	}
	writeResult(w, http.StatusOK, itemJSON(&it))
}

const store60Days = 60 * 24 * time.Hour

// handlePatchItem serves PATCH /api/1/item/{id}: status, level, title,
// resolved_in_version.
func (a *API) handlePatchItem(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, presentedToken(r), hasScope(tenant.ScopeWrite), "the write scope")
	if p == nil {
		return
	}
	it, ok := a.itemFromPath(w, r, p)
	if !ok {
		return
	}
	var body struct {
		Status            *string `json:"status"`
		Level             *string `json:"level"`
		Title             *string `json:"title"`
		ResolvedInVersion *string `json:"resolved_in_version"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil || json.Unmarshal(raw, &body) != nil {
		writeErr(w, http.StatusBadRequest, "invalid JSON body")
		return
	}
	var patch ItemPatch
	changed := map[string]any{}
	if body.Status != nil {
		s := *body.Status
		if !slices.Contains([]string{StatusActive, StatusResolved, StatusMuted}, s) {
			writeErr(w, http.StatusUnprocessableEntity, "status must be active, resolved or muted")
			return
		}
		patch.Status, changed["status"] = &s, s
	}
	if body.Level != nil {
		l := normLevel(*body.Level)
		if l == "" {
			writeErr(w, http.StatusUnprocessableEntity, "level must be one of critical, error, warning, info, debug")
			return
		}
		patch.Level, changed["level"] = &l, l
	}
	if body.Title != nil {
		t := strings.TrimSpace(*body.Title)
		if t == "" || len(t) > 255 {
			writeErr(w, http.StatusUnprocessableEntity, "title must be 1 to 255 characters")
			return
		}
		patch.Title, changed["title"] = &t, t
	}
	if body.ResolvedInVersion != nil {
		v := *body.ResolvedInVersion
		if len(v) > 40 {
			writeErr(w, http.StatusUnprocessableEntity, "resolved_in_version must be at most 40 characters")
			return
		}
		st := it.Status
		if patch.Status != nil {
			st = *patch.Status
		}
		if st != StatusResolved {
			writeErr(w, http.StatusUnprocessableEntity, "resolved_in_version is only valid with status resolved")
			return
		}
		patch.ResolvedInVersion, changed["resolved_in_version"] = &v, v
	}
	if len(changed) == 0 {
		writeErr(w, http.StatusUnprocessableEntity, "nothing to change")
		return
	}
	up, err := a.Items.Patch(r.Context(), p.Env.ID, it.ID, patch, a.Now().Unix())
	if errors.Is(err, ErrItemNotFound) {
		writeErr(w, http.StatusNotFound, "Item not found in this project.")
		return
	}
	if err != nil {
		a.internal(w, "update item", err)
		return
	}
	changed["id"] = up.ID
	writeResult(w, http.StatusOK, changed)
}

// rawEvents reads occurrence events of env matching f, newest first.
func (a *API) rawEvents(r *http.Request, env event.EnvID, f query.Filter, start, end time.Time, limit int) ([]query.RawEvent, error) {
	plan := &query.Plan{Datasets: []string{Dataset}, Start: start, End: end, Limit: limit}
	if f.Column != "" {
		plan.Filters = []query.Filter{f}
	}
	res, err := a.Store.Execute(r.Context(), env, plan)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return res.Events, nil
}

// instanceJSON is Rollbar's occurrence object.
func instanceJSON(env event.EnvID, ev query.RawEvent) map[string]any {
	id, _ := fieldInt(ev, fOccurrenceID)
	itemID, _ := fieldInt(ev, fItemID)
	var data json.RawMessage
	if s, ok := fieldStr(ev, fData); ok && json.Valid([]byte(s)) {
		data = json.RawMessage(s)
	} else {
		data = json.RawMessage("{}")
	}
	return map[string]any{
		"id":         id,
		"project_id": int64(env),
		"item_id":    itemID,
		"timestamp":  ev.Time.UnixMilli(),
		"version":    2,
		"data":       data,
		"billable":   1,
	}
}

func fieldInt(ev query.RawEvent, k string) (int64, bool) {
	for _, f := range ev.Fields {
		if f.Key == k {
			switch f.Value.Type() {
			case event.TypeInt:
				return f.Value.Int(), true
			case event.TypeFloat:
				return int64(f.Value.Float()), true
			case event.TypeString:
				n, err := strconv.ParseInt(f.Value.Str(), 10, 64)
				return n, err == nil
			}
		}
	}
	return 0, false
}

func fieldStr(ev query.RawEvent, k string) (string, bool) {
	for _, f := range ev.Fields {
		if f.Key == k {
			return f.Value.Text(), true
		}
	}
	return "", false
}

// handleItemInstances serves GET /api/1/item/{id}/instances.
func (a *API) handleItemInstances(w http.ResponseWriter, r *http.Request) {
	p := a.readPrincipal(w, r)
	if p == nil {
		return
	}
	it, ok := a.itemFromPath(w, r, p)
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
}

// handleInstances serves GET /api/1/instances: the project's occurrences,
// newest first.
func (a *API) handleInstances(w http.ResponseWriter, r *http.Request) {
	p := a.readPrincipal(w, r)
	if p == nil {
		return
	}
	page := pageParam(r)
	limit := instancesPerPage
	if s := r.URL.Query().Get("limit"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 && n <= 5000 {
			limit = n
		}
	}
	evs, err := a.rawEvents(r, p.Env.ID, query.Filter{}, a.Now().Add(-store60Days), a.Now().Add(time.Minute), min(page*limit, 50000))
	if err != nil {
		a.internal(w, "list instances", err)
		return
	}
	writeResult(w, http.StatusOK, map[string]any{"page": page, "instances": instancesPage(p.Env.ID, evs, page, limit)})
}

func instancesPage(env event.EnvID, evs []query.RawEvent, page, per int) []map[string]any {
	from := min((page-1)*per, len(evs))
	to := min(from+per, len(evs))
	out := make([]map[string]any, 0, to-from)
	for _, ev := range evs[from:to] {
		out = append(out, instanceJSON(env, ev))
	}
	return out
}

func pageParam(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, 250)
}

// handleGetInstance serves GET /api/1/instance/{id}. The id encodes the
// receipt time, so only that moment is searched.
func (a *API) handleGetInstance(w http.ResponseWriter, r *http.Request) {
	p := a.readPrincipal(w, r)
	if p == nil {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeErr(w, http.StatusNotFound, msgNotFound)
		return
	}
	t := occurrenceTime(id)
	evs, err := a.rawEvents(r, p.Env.ID, query.Filter{Column: fOccurrenceID, Op: query.OpEq, Value: event.Int(id)},
		t.Add(-time.Second), t.Add(time.Second), 1)
	if err != nil {
		a.internal(w, "get instance", err)
		return
	}
	if len(evs) == 0 {
		writeErr(w, http.StatusNotFound, "Instance not found in this project.")
		return
	}
	writeResult(w, http.StatusOK, instanceJSON(p.Env.ID, evs[0]))
}
