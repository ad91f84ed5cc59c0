package honeycomb

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/notify"
	"github.com/waggle-hq/waggle/internal/tenant"
	"github.com/waggle-hq/waggle/internal/triggers"
)

// Recipients (/1/recipients): where triggers notify. They are notify
// recipients of source "honeycomb" (internal/notify), so the shared
// deliverer delivers to them with its retries and log.

func (a *API) registerRecipients(mux *http.ServeMux) {
	mux.HandleFunc("GET /1/recipients", a.handleListRecipients)
	mux.HandleFunc("POST /1/recipients", a.handleCreateRecipient)
	mux.HandleFunc("GET /1/recipients/{id}", a.handleGetRecipient)
	mux.HandleFunc("PUT /1/recipients/{id}", a.handleUpdateRecipient)
	mux.HandleFunc("DELETE /1/recipients/{id}", a.handleDeleteRecipient)
	mux.HandleFunc("GET /1/recipients/{id}/triggers", a.handleRecipientTriggers)
}

// notifyRecipient converts a stored row as notify does.
func notifyRecipient(m meta.NotifyRecipient) notify.Recipient {
	r := notify.Recipient{ID: m.ID, Env: event.EnvID(m.EnvID), Source: m.Source, Kind: notify.Kind(m.Kind), Name: m.Name,
		Target: m.Target, Events: m.Events, Enabled: m.Enabled, CreatedAt: m.CreatedAt}
	_ = json.Unmarshal([]byte(m.Config), &r.Config)
	return r
}

// recipientTarget is the address a deprecated {type, target} trigger
// recipient names.
func recipientTarget(r triggers.Recipient) string {
	d := r.Details
	switch r.Type {
	case "email":
		return d.EmailAddress
	case "pagerduty":
		return d.PagerDutyIntegrationKey
	case "slack":
		if d.SlackChannel != "" {
			return d.SlackChannel
		}
		return d.SlackWebhookURL
	default:
		return d.WebhookURL
	}
}

// recipientByID loads one of p's environment's recipients.
func (a *API) recipientByID(ctx context.Context, p *tenant.Principal, id string) (meta.NotifyRecipient, error) {
	n, ok := notify.ParseRecipientID(id)
	if !ok {
		return meta.NotifyRecipient{}, meta.ErrNotFound
	}
	m, err := a.Alerting.DB.NotifyRecipient(ctx, n)
	if err == nil && (m.EnvID != int64(p.Env.ID) || m.Source != triggers.Source) {
		err = meta.ErrNotFound
	}
	return m, err
}

func recipientJSON(m meta.NotifyRecipient) triggers.Recipient {
	r := triggers.RecipientOf(notifyRecipient(m))
	r.UpdatedAt = mgmtTime(m.UpdatedAt)
	return r
}

func (a *API) handleListRecipients(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageRecipients)
	if p == nil {
		return
	}
	rs, err := a.Alerting.DB.NotifyRecipients(r.Context(), int64(p.Env.ID), triggers.Source)
	if err != nil {
		a.internalError(w, r, "list recipients", err)
		return
	}
	out := make([]triggers.Recipient, 0, len(rs))
	for _, m := range rs {
		out = append(out, recipientJSON(m))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) handleGetRecipient(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageRecipients)
	if p == nil {
		return
	}
	m, err := a.recipientByID(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.objectError(w, r, "recipient", err)
		return
	}
	writeJSON(w, http.StatusOK, recipientJSON(m))
}

// readRecipient decodes and validates a recipient body.
func readRecipient(w http.ResponseWriter, r *http.Request) (notify.Recipient, bool) {
	var in triggers.Recipient
	if !readObject(w, r, 64<<10, &in) {
		return notify.Recipient{}, false
	}
	n, err := in.ToNotify()
	if err != nil {
		var inv *triggers.InvalidError
		if errors.As(err, &inv) {
			writeProblem(w, http.StatusUnprocessableEntity, inv.Field, inv.Msg)
		} else {
			writeProblem(w, http.StatusUnprocessableEntity, "", err.Error())
		}
		return notify.Recipient{}, false
	}
	return n, true
}

func toMetaRecipient(n notify.Recipient, env event.EnvID) (meta.NotifyRecipient, error) {
	cfg, err := json.Marshal(n.Config)
	return meta.NotifyRecipient{ID: n.ID, EnvID: int64(env), Source: triggers.Source, Kind: string(n.Kind), Name: n.Name,
		Target: n.Target, Config: string(cfg), Enabled: true}, err
}

func (a *API) handleCreateRecipient(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageRecipients)
	if p == nil {
		return
	}
	n, ok := readRecipient(w, r)
	if !ok {
		return
	}
	row, err := toMetaRecipient(n, p.Env.ID)
	if err == nil {
		row, err = a.Alerting.DB.CreateNotifyRecipient(r.Context(), row)
	}
	if err != nil {
		a.internalError(w, r, "create recipient", err)
		return
	}
	writeJSON(w, http.StatusCreated, recipientJSON(row))
}

func (a *API) handleUpdateRecipient(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageRecipients)
	if p == nil {
		return
	}
	old, err := a.recipientByID(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.objectError(w, r, "recipient", err)
		return
	}
	n, ok := readRecipient(w, r)
	if !ok {
		return
	}
	n.ID = old.ID
	row, err := toMetaRecipient(n, p.Env.ID)
	if err == nil {
		row, err = a.Alerting.DB.UpdateNotifyRecipient(r.Context(), row)
	}
	if err != nil {
		a.objectError(w, r, "recipient", err)
		return
	}
	writeJSON(w, http.StatusOK, recipientJSON(row))
}

// triggersOf lists the environment's triggers that notify recipient id.
func (a *API) triggersOf(ctx context.Context, p *tenant.Principal, id string) ([]*triggers.Trigger, error) {
	all, err := triggers.List(ctx, a.Alerting.DB, int64(p.Env.ID), "")
	if err != nil {
		return nil, err
	}
	out := []*triggers.Trigger{}
	for _, t := range all {
		for _, rc := range t.Recipients {
			if rc.ID == id {
				out = append(out, t)
				break
			}
		}
	}
	return out, nil
}

// handleDeleteRecipient deletes a recipient no trigger uses (409 otherwise,
// naming how many do).
func (a *API) handleDeleteRecipient(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageRecipients)
	if p == nil {
		return
	}
	m, err := a.recipientByID(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.objectError(w, r, "recipient", err)
		return
	}
	used, err := a.triggersOf(r.Context(), p, strconv.FormatInt(m.ID, 10))
	if err != nil {
		a.internalError(w, r, "recipient triggers", err)
		return
	}
	if len(used) > 0 {
		writeError(w, http.StatusConflict, "recipient is used by "+strconv.Itoa(len(used))+" trigger(s): remove it from them first")
		return
	}
	if err := a.Alerting.DB.DeleteNotifyRecipient(r.Context(), int64(p.Env.ID), m.ID); err != nil {
		a.objectError(w, r, "recipient", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) handleRecipientTriggers(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, tenant.PermManageRecipients)
	if p == nil {
		return
	}
	m, err := a.recipientByID(r.Context(), p, r.PathValue("id"))
	if err != nil {
		a.objectError(w, r, "recipient", err)
		return
	}
	ts, err := a.triggersOf(r.Context(), p, strconv.FormatInt(m.ID, 10))
	if err != nil {
		a.internalError(w, r, "recipient triggers", err)
		return
	}
	writeJSON(w, http.StatusOK, ts)
}
