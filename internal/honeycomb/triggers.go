package honeycomb

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
	"github.com/waggle-hq/waggle/internal/triggers"
)

// Alerting holds what the boards, markers, query annotations, recipients,
// triggers and query history endpoints need: the metadata database they are
// kept in. A nil API.Alerting leaves those endpoints out.
type Alerting struct {
	DB *meta.DB
}

// registerAlerting adds Honeycomb's management API for query annotations,
// boards (and views), markers (and marker settings), recipients and
// triggers, plus waggle's query history and trigger delivery log. Every
// object is scoped to the key's environment (another environment's is 404)
// and needs the permission named (401 otherwise):
//
//	/1/query_annotations/{dataset}[/{id}]            manage_queries
//	/1/boards[/{id}], /1/boards/{id}/views[/{viewId}] manage_boards
//	/1/markers/{dataset|__all__}[/{id}]              manage_markers
//	/1/marker_settings/{dataset}[/{id}]              manage_markers
//	/1/recipients[/{id}], /1/recipients/{id}/triggers manage_recipients
//	/1/triggers/{dataset|__all__}[/{id}]             manage_triggers
//	GET /1/triggers/{dataset}/{id}/deliveries        manage_triggers (waggle)
//	GET /1/query_history                             run_queries or manage_queries (waggle)
func (a *API) registerAlerting(mux *http.ServeMux) {
	if a.Alerting == nil || a.Alerting.DB == nil {
		return
	}
	a.registerAnnotations(mux)
	a.registerBoards(mux)
	a.registerMarkers(mux)
	a.registerRecipients(mux)
	a.registerHistory(mux)
	mux.HandleFunc("GET /1/triggers/{dataset}", a.handleListTriggers)
	mux.HandleFunc("POST /1/triggers/{dataset}", a.handleCreateTrigger)
	mux.HandleFunc("GET /1/triggers/{dataset}/{id}", a.handleGetTrigger)
	mux.HandleFunc("PUT /1/triggers/{dataset}/{id}", a.handleUpdateTrigger)
	mux.HandleFunc("DELETE /1/triggers/{dataset}/{id}", a.handleDeleteTrigger)
	mux.HandleFunc("GET /1/triggers/{dataset}/{id}/deliveries", a.handleTriggerDeliveries)
}

// maxTriggerBody is Honeycomb's limit on trigger bodies.
const maxTriggerBody = 100000

// newObjectID returns a random id like Honeycomb's ("bZ1aRHAUsjG").
func newObjectID() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	var b [11]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// writeProblem answers a validation failure as Honeycomb's problem+json.
func writeProblem(w http.ResponseWriter, status int, field, msg string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	body := map[string]any{
		"status": status, "type": "https://api.honeycomb.io/problems/validation-failed",
		"title": "The provided input is invalid.", "error": msg, "detail": msg,
	}
	if field != "" {
		body["type_detail"] = []map[string]string{{"field": field, "code": "invalid", "description": msg}}
	}
	_ = json.NewEncoder(w).Encode(body)
}

// readObject decodes a management JSON body of at most max bytes into v,
// answering 413 or 400 itself.
func readObject(w http.ResponseWriter, r *http.Request, max int64, v any) bool {
	body, ok := readQueryBody(w, r, max)
	if !ok {
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "request body is not valid JSON: "+truncateMsg(err.Error()))
		return false
	}
	return true
}

func truncateMsg(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// datasetParam resolves {dataset} to its slug (or "__all__") and checks it
// exists in the environment, answering 404 itself. allowAll says whether
// "__all__" is allowed on this path.
// datasetScope authenticates the request for perm and resolves its
// {dataset} path value (allowAll admits __all__), the preamble of every
// dataset-scoped management handler. On failure it has written the response.
func (a *API) datasetScope(w http.ResponseWriter, r *http.Request, perm tenant.Permission, allowAll bool) (*tenant.Principal, string, bool) {
	p := a.authenticate(w, r, perm)
	if p == nil {
		return nil, "", false
	}
	ds, ok := a.datasetParam(w, r, p, allowAll)
	return p, ds, ok
}

func (a *API) datasetParam(w http.ResponseWriter, r *http.Request, p *tenant.Principal, allowAll bool) (string, bool) {
	ds := r.PathValue("dataset")
	if ds == event.AllDatasets {
		if !allowAll {
			writeError(w, http.StatusNotFound, "dataset not found")
			return "", false
		}
		return ds, true
	}
	slug, err := event.Slug(ds)
	if err != nil {
		writeError(w, http.StatusNotFound, "dataset not found")
		return "", false
	}
	if a.Engine != nil {
		if err := a.Engine.CheckDatasets(r.Context(), p.Env.ID, []string{ds}); err != nil {
			if errors.Is(err, query.ErrUnknownDataset) {
				writeError(w, http.StatusNotFound, "dataset not found")
			} else {
				a.internalError(w, r, "check dataset", err)
			}
			return "", false
		}
	}
	return slug, true
}

func (a *API) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	a.Log.ErrorContext(r.Context(), what, "err", err, "path", r.URL.Path)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// objectError answers a meta error: 404 for not found, 409 for conflicts.
func (a *API) objectError(w http.ResponseWriter, r *http.Request, what string, err error) {
	switch {
	case errors.Is(err, meta.ErrNotFound):
		writeError(w, http.StatusNotFound, what+" not found")
	case errors.Is(err, meta.ErrConflict):
		writeError(w, http.StatusConflict, what+" already exists")
	default:
		a.internalError(w, r, what, err)
	}
}

// --- triggers ---

func (a *API) handleListTriggers(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageTriggers, true)
	if !ok {
		return
	}
	ts, err := triggers.List(r.Context(), a.Alerting.DB, int64(p.Env.ID), ds)
	if err != nil {
		a.internalError(w, r, "list triggers", err)
		return
	}
	writeJSON(w, http.StatusOK, ts)
}

func (a *API) handleGetTrigger(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageTriggers)
	if p == nil {
		return
	}
	t, ok := a.loadTrigger(w, r, p)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// loadTrigger loads {dataset}/{id}, answering 404 itself.
func (a *API) loadTrigger(w http.ResponseWriter, r *http.Request, p *tenant.Principal) (*triggers.Trigger, bool) {
	ds, ok := a.datasetParam(w, r, p, true)
	if !ok {
		return nil, false
	}
	t, err := triggers.Load(r.Context(), a.Alerting.DB, int64(p.Env.ID), r.PathValue("id"))
	if err == nil && t.DatasetSlug != ds {
		err = meta.ErrNotFound
	}
	if err != nil {
		a.objectError(w, r, "trigger", err)
		return nil, false
	}
	return t, true
}

// parseTrigger reads and validates a trigger body for dataset ds: the rules
// of Honeycomb's trigger API, the query against the dataset's columns, and
// the recipients against the environment's.
func (a *API) parseTrigger(w http.ResponseWriter, r *http.Request, p *tenant.Principal, ds string) (*triggers.Trigger, bool) {
	body, ok := readQueryBody(w, r, maxTriggerBody)
	if !ok {
		return nil, false
	}
	t, err := triggers.ParseTrigger(body)
	if err == nil && t.Query == nil && t.QueryID != "" {
		var saved query.SavedQuery
		if saved, err = a.Engine.Saved(r.Context(), p.Env.ID, ds, t.QueryID); err == nil {
			t.Query, err = saved.Parse()
		} else if errors.Is(err, query.ErrQueryNotFound) {
			writeProblem(w, http.StatusUnprocessableEntity, "query_id", "query_id "+truncateMsg(t.QueryID)+" not found")
			return nil, false
		}
	}
	if err == nil {
		err = t.Normalize()
	}
	if err == nil {
		err = a.Engine.Check(r.Context(), p.Env.ID, []string{ds}, t.Query)
	}
	if err != nil {
		var inv *triggers.InvalidError
		var qe *query.Error
		switch {
		case errors.As(err, &inv):
			writeProblem(w, http.StatusUnprocessableEntity, inv.Field, inv.Msg)
		case errors.As(err, &qe):
			writeProblem(w, http.StatusUnprocessableEntity, "query", "query: "+qe.Error())
		case errors.Is(err, query.ErrUnknownDataset):
			writeError(w, http.StatusNotFound, "dataset not found")
		default:
			a.internalError(w, r, "validate trigger", err)
		}
		return nil, false
	}
	if !a.resolveTriggerRecipients(w, r, p, t) {
		return nil, false
	}
	t.DatasetSlug = ds
	return t, true
}

// resolveTriggerRecipients checks that every recipient id exists in the
// environment and resolves deprecated {type, target} recipients to existing
// ones.
func (a *API) resolveTriggerRecipients(w http.ResponseWriter, r *http.Request, p *tenant.Principal, t *triggers.Trigger) bool {
	var all []triggers.Recipient
	for i, tr := range t.Recipients {
		if tr.ID == "" {
			if all == nil {
				rs, err := a.Alerting.DB.NotifyRecipients(r.Context(), int64(p.Env.ID), triggers.Source)
				if err != nil {
					a.internalError(w, r, "list recipients", err)
					return false
				}
				for _, m := range rs {
					all = append(all, triggers.RecipientOf(notifyRecipient(m)))
				}
			}
			for _, rc := range all {
				if rc.Type == tr.Type && recipientTarget(rc) == tr.Target && tr.Target != "" {
					t.Recipients[i].ID = rc.ID
				}
			}
			if t.Recipients[i].ID == "" {
				writeProblem(w, http.StatusUnprocessableEntity, "recipients", "recipient "+truncateMsg(tr.Type+" "+tr.Target)+" not found: create it with POST /1/recipients")
				return false
			}
		} else if _, err := a.recipientByID(r.Context(), p, tr.ID); err != nil {
			if errors.Is(err, meta.ErrNotFound) {
				writeProblem(w, http.StatusUnprocessableEntity, "recipients", "recipient "+truncateMsg(tr.ID)+" not found")
			} else {
				a.internalError(w, r, "load recipient", err)
			}
			return false
		}
		t.Recipients[i].Type, t.Recipients[i].Target = "", ""
	}
	return true
}

func (a *API) handleCreateTrigger(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageTriggers, true)
	if !ok {
		return
	}
	t, ok := a.parseTrigger(w, r, p, ds)
	if !ok {
		return
	}
	raw, err := t.Body()
	if err != nil {
		a.internalError(w, r, "encode trigger", err)
		return
	}
	o, err := a.Alerting.DB.CreateObject(r.Context(), meta.Object{EnvID: int64(p.Env.ID), Kind: meta.KindTrigger, ID: newObjectID(), Parent: ds, Body: raw})
	if err != nil {
		a.objectError(w, r, "trigger", err)
		return
	}
	out, err := triggers.FromObject(o)
	if err != nil {
		a.internalError(w, r, "create trigger", err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) handleUpdateTrigger(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageTriggers)
	if p == nil {
		return
	}
	old, ok := a.loadTrigger(w, r, p)
	if !ok {
		return
	}
	t, ok := a.parseTrigger(w, r, p, old.DatasetSlug)
	if !ok {
		return
	}
	raw, err := t.Body()
	if err != nil {
		a.internalError(w, r, "encode trigger", err)
		return
	}
	o, err := a.Alerting.DB.UpdateObject(r.Context(), meta.Object{EnvID: int64(p.Env.ID), Kind: meta.KindTrigger, ID: old.ID, Parent: old.DatasetSlug, Body: raw})
	if err != nil {
		a.objectError(w, r, "trigger", err)
		return
	}
	out, err := triggers.FromObject(o)
	if err != nil {
		a.internalError(w, r, "update trigger", err)
		return
	}
	out.Triggered = old.Triggered
	writeJSON(w, http.StatusOK, out)
}

func (a *API) handleDeleteTrigger(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageTriggers)
	if p == nil {
		return
	}
	t, ok := a.loadTrigger(w, r, p)
	if !ok {
		return
	}
	if err := a.Alerting.DB.DeleteObject(r.Context(), int64(p.Env.ID), meta.KindTrigger, t.ID); err != nil {
		a.objectError(w, r, "trigger", err)
		return
	}
	if err := a.Alerting.DB.DeleteTriggerState(r.Context(), int64(p.Env.ID), t.ID); err != nil {
		a.Log.Warn("delete trigger state", "trigger", t.ID, "err", err)
	}
	w.WriteHeader(http.StatusNoContent)
}

// deliveryJSON is one entry of a trigger's delivery log (waggle).
type deliveryJSON struct {
	ID          int64           `json:"id"`
	RecipientID string          `json:"recipient_id"`
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	LastStatus  int             `json:"last_status,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	NextAttempt *string         `json:"next_attempt_at,omitempty"`
	Payload     json.RawMessage `json:"payload"`
	CreatedAt   string          `json:"created_at"`
	UpdatedAt   string          `json:"updated_at"`
}

// handleTriggerDeliveries is GET /1/triggers/{dataset}/{id}/deliveries
// (waggle's extension): the trigger's notifications, newest first, with
// their delivery status; ?limit= (default 100, max 1000).
func (a *API) handleTriggerDeliveries(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageTriggers)
	if p == nil {
		return
	}
	t, ok := a.loadTrigger(w, r, p)
	if !ok {
		return
	}
	limit := intParam(r, "limit", 100, 1000)
	rows, err := a.Alerting.DB.NotifyDeliveriesByEvent(r.Context(), int64(p.Env.ID), triggers.EventName(t.ID), limit)
	if err != nil {
		a.internalError(w, r, "list deliveries", err)
		return
	}
	out := make([]deliveryJSON, 0, len(rows))
	for _, d := range rows {
		j := deliveryJSON{ID: d.ID, RecipientID: strconv.FormatInt(d.RecipientID, 10), Status: d.Status, Attempts: d.Attempts,
			LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: mgmtTime(d.CreatedAt), UpdatedAt: mgmtTime(d.UpdatedAt)}
		if json.Valid([]byte(d.Payload)) {
			j.Payload = json.RawMessage(d.Payload)
		} else {
			j.Payload, _ = json.Marshal(d.Payload)
		}
		if d.Status == "pending" {
			j.NextAttempt = mgmtTimePtr(d.NextAttemptAt)
		}
		out = append(out, j)
	}
	writeJSON(w, http.StatusOK, out)
}

// intParam reads a positive integer query parameter, clamped to max.
func intParam(r *http.Request, name string, def, max int) int {
	v, err := strconv.Atoi(strings.TrimSpace(r.URL.Query().Get(name)))
	if err != nil || v <= 0 {
		return def
	}
	return min(v, max)
}
