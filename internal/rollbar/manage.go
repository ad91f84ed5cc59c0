package rollbar

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/notify"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/tenant"
)

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// Deploy statuses.
var deployStatuses = []string{"started", "succeeded", "failed", "timed_out"}

// readParams reads a small JSON or form body into string values.
func readParams(r *http.Request) (map[string]string, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	s := strings.TrimSpace(string(raw))
	if strings.HasPrefix(s, "{") {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, err
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[k] = v
			case float64:
				out[k] = strconv.FormatFloat(v, 'f', -1, 64)
			case bool:
				out[k] = strconv.FormatBool(v)
			}
		}
		return out, nil
	}
	vals, err := url.ParseQuery(s)
	if err != nil {
		return nil, err
	}
	for k := range vals {
		out[k] = vals.Get(k)
	}
	return out, nil
}

func deployJSON(d meta.RollbarDeploy) map[string]any {
	var finish any
	if d.FinishTime > 0 {
		finish = d.FinishTime
	}
	return map[string]any{
		"id": d.ID, "deploy_id": d.ID, "project_id": d.EnvID, "environment": d.Environment,
		"revision": d.Revision, "local_username": nilIfEmpty(d.LocalUsername),
		"rollbar_username": nilIfEmpty(d.RollbarUsername), "user_id": nil,
		"comment": nilIfEmpty(d.Comment), "status": d.Status,
		"start_time": d.StartTime, "finish_time": finish,
	}
}

// handlePostDeploy serves POST /api/1/deploy: JSON or form, token in the
// header or the body. The answer is {"data":{"deploy_id":N}} as Rollbar's,
// with err and result added for clients that expect the usual envelope.
func (a *API) handlePostDeploy(w http.ResponseWriter, r *http.Request) {
	params, err := readParams(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "malformed body")
		return
	}
	token := presentedToken(r)
	if token == "" {
		token = params["access_token"]
	}
	p := a.authenticate(w, r, token, hasScope(tenant.ScopePostServerItem), "the post_server_item scope")
	if p == nil {
		return
	}
	env, rev := strings.TrimSpace(params["environment"]), strings.TrimSpace(params["revision"])
	if env == "" || rev == "" || len(env) > 255 || len(rev) > 255 {
		writeErr(w, http.StatusUnprocessableEntity, "environment and revision are required")
		return
	}
	status := params["status"]
	if status == "" {
		status = "succeeded"
	}
	if !slices.Contains(deployStatuses, status) {
		writeErr(w, http.StatusUnprocessableEntity, "invalid status")
		return
	}
	now := a.Now().Unix()
	d := meta.RollbarDeploy{
		EnvID: int64(p.Env.ID), Environment: env, Revision: rev,
		LocalUsername: cleanString(params["local_username"], 255), RollbarUsername: cleanString(params["rollbar_username"], 255),
		Comment: cleanString(params["comment"], 4096), Status: status, StartTime: now,
	}
	if status != "started" {
		d.FinishTime = now
	}
	d, err = a.Items.db.CreateRollbarDeploy(r.Context(), d)
	if err != nil {
		a.internal(w, "create deploy", err)
		return
	}
	a.notifyDeploy(p, d)
	writeJSON(w, http.StatusOK, map[string]any{
		"err": 0, "data": map[string]any{"deploy_id": d.ID}, "result": map[string]any{"deploy_id": d.ID},
	})
}

func (a *API) notifyDeploy(p *tenant.RollbarPrincipal, d meta.RollbarDeploy) {
	if a.Notify == nil {
		return
	}
	b, err := json.Marshal(map[string]any{"event_name": EventDeploy, "data": map[string]any{"deploy": deployJSON(d)}})
	if err != nil {
		return
	}
	n := notify.Notification{Env: p.Env.ID, Source: Source, EventName: EventDeploy, Payload: b,
		Summary: "[deploy] " + d.Environment + " " + d.Revision}
	go func() {
		if err := a.Notify.Notify(contextBackground(), n); err != nil {
			a.Log.Error("rollbar: notify deploy", "err", err)
		}
	}()
}

// handleListDeploys serves GET /api/1/deploys (20 per page, newest first).
func (a *API) handleListDeploys(w http.ResponseWriter, r *http.Request) {
	p := a.readPrincipal(w, r)
	if p == nil {
		return
	}
	page := pageParam(r)
	ds, err := a.Items.db.RollbarDeploys(r.Context(), int64(p.Env.ID), (page-1)*20, 20)
	if err != nil {
		a.internal(w, "list deploys", err)
		return
	}
	out := make([]map[string]any, len(ds))
	for i, d := range ds {
		out[i] = deployJSON(d)
	}
	writeResult(w, http.StatusOK, map[string]any{"page": page, "deploys": out})
}

func (a *API) deployFromPath(w http.ResponseWriter, r *http.Request, p *tenant.RollbarPrincipal) (meta.RollbarDeploy, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeErr(w, http.StatusNotFound, msgNotFound)
		return meta.RollbarDeploy{}, false
	}
	d, err := a.Items.db.RollbarDeploy(r.Context(), int64(p.Env.ID), id)
	if errors.Is(err, meta.ErrNotFound) {
		writeErr(w, http.StatusNotFound, "Deploy not found in this project.")
		return d, false
	}
	if err != nil {
		a.internal(w, "get deploy", err)
		return d, false
	}
	return d, true
}

// handleGetDeploy serves GET /api/1/deploy/{id}.
func (a *API) handleGetDeploy(w http.ResponseWriter, r *http.Request) {
	p := a.readPrincipal(w, r)
	if p == nil {
		return
	}
	if d, ok := a.deployFromPath(w, r, p); ok {
		writeResult(w, http.StatusOK, deployJSON(d))
	}
}

// handlePatchDeploy serves PATCH /api/1/deploy/{id}: a started deploy's
// final status.
func (a *API) handlePatchDeploy(w http.ResponseWriter, r *http.Request) {
	p := a.authenticate(w, r, presentedToken(r), func(p *tenant.RollbarPrincipal) bool {
		return p.Has(tenant.ScopePostServerItem) || p.Has(tenant.ScopeWrite)
	}, "the post_server_item or write scope")
	if p == nil {
		return
	}
	d, ok := a.deployFromPath(w, r, p)
	if !ok {
		return
	}
	params, err := readParams(r)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "malformed body")
		return
	}
	st := params["status"]
	if !slices.Contains(deployStatuses, st) {
		writeErr(w, http.StatusUnprocessableEntity, "invalid status")
		return
	}
	if d.Status != "started" {
		writeErr(w, http.StatusUnprocessableEntity, "only a started deploy can change its status")
		return
	}
	var finish int64
	if st != "started" {
		finish = a.Now().Unix()
	}
	d, err = a.Items.db.UpdateRollbarDeployStatus(r.Context(), int64(p.Env.ID), d.ID, st, finish)
	if err != nil {
		a.internal(w, "update deploy", err)
		return
	}
	writeResult(w, http.StatusOK, deployJSON(d))
}

// Webhook rules: waggle's own small API over Rollbar's paths. A rule is a
// notify recipient of source "rollbar" and kind webhook:
//
//	POST   /api/1/webhooks   {"url":…, "name":…, "events":["new_item",…], "headers":{…}}
//	GET    /api/1/webhooks
//	GET    /api/1/webhooks/{id}
//	DELETE /api/1/webhooks/{id}
//	GET    /api/1/webhooks/{id}/deliveries   (the delivery log)
//
// Rollbar tokens need the write scope (read for GET); waggle keys need
// manage_recipients.
func (a *API) webhookPrincipal(w http.ResponseWriter, r *http.Request, write bool) *tenant.RollbarPrincipal {
	if a.Notify == nil {
		writeErr(w, http.StatusNotFound, "notifications are not enabled")
		return nil
	}
	scope := tenant.ScopeRead
	if write {
		scope = tenant.ScopeWrite
	}
	return a.authenticate(w, r, presentedToken(r), scopeOrPerm(scope, tenant.PermManageRecipients),
		"the "+string(scope)+" scope (waggle keys: manage_recipients)")
}

func webhookJSON(rc notify.Recipient) map[string]any {
	headers := map[string]string{}
	for k := range rc.Config {
		if name, ok := strings.CutPrefix(k, "header:"); ok {
			headers[name] = "********"
		}
	}
	return map[string]any{
		"id": rc.ID, "project_id": int64(rc.Env), "name": rc.Name, "url": rc.Target,
		"events": nonNil(rc.Events), "headers": headers, "enabled": rc.Enabled,
		"date_created": rc.CreatedAt.Unix(),
	}
}

func (a *API) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	p := a.webhookPrincipal(w, r, true)
	if p == nil {
		return
	}
	var body struct {
		URL     string            `json:"url"`
		Name    string            `json:"name"`
		Events  []string          `json:"events"`
		Headers map[string]string `json:"headers"`
		Enabled *bool             `json:"enabled"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil || json.Unmarshal(raw, &body) != nil {
		writeErr(w, http.StatusBadRequest, "invalid JSON body")
		return
	}
	for _, e := range body.Events {
		if !slices.Contains(WebhookEvents, e) {
			writeErr(w, http.StatusUnprocessableEntity, "unknown event "+strconv.Quote(e)+"; known: "+strings.Join(WebhookEvents, ", "))
			return
		}
	}
	cfg := map[string]string{}
	for k, v := range body.Headers {
		cfg["header:"+k] = v
	}
	rc, err := a.Notify.CreateRecipient(r.Context(), notify.Recipient{
		Env: p.Env.ID, Source: Source, Kind: notify.KindWebhook, Name: body.Name, Target: body.URL,
		Config: cfg, Events: body.Events, Enabled: body.Enabled == nil || *body.Enabled,
	})
	if errors.Is(err, notify.ErrInvalid) {
		writeErr(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if err != nil {
		a.internal(w, "create webhook", err)
		return
	}
	writeResult(w, http.StatusOK, webhookJSON(rc))
}

func (a *API) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	p := a.webhookPrincipal(w, r, false)
	if p == nil {
		return
	}
	rs, err := a.Notify.Recipients(r.Context(), p.Env.ID, Source)
	if err != nil {
		a.internal(w, "list webhooks", err)
		return
	}
	out := make([]map[string]any, 0, len(rs))
	for _, rc := range rs {
		if rc.Kind == notify.KindWebhook {
			out = append(out, webhookJSON(rc))
		}
	}
	writeResult(w, http.StatusOK, out)
}

func (a *API) webhookFromPath(w http.ResponseWriter, r *http.Request, p *tenant.RollbarPrincipal) (notify.Recipient, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeErr(w, http.StatusNotFound, msgNotFound)
		return notify.Recipient{}, false
	}
	rc, err := a.Notify.Recipient(r.Context(), p.Env.ID, id)
	if err != nil || rc.Source != Source {
		writeErr(w, http.StatusNotFound, "webhook not found")
		return notify.Recipient{}, false
	}
	return rc, true
}

func (a *API) handleGetWebhook(w http.ResponseWriter, r *http.Request) {
	p := a.webhookPrincipal(w, r, false)
	if p == nil {
		return
	}
	if rc, ok := a.webhookFromPath(w, r, p); ok {
		writeResult(w, http.StatusOK, webhookJSON(rc))
	}
}

func (a *API) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	p := a.webhookPrincipal(w, r, true)
	if p == nil {
		return
	}
	rc, ok := a.webhookFromPath(w, r, p)
	if !ok {
		return
	}
	if err := a.Notify.DeleteRecipient(r.Context(), p.Env.ID, rc.ID); err != nil {
		a.internal(w, "delete webhook", err)
		return
	}
	writeResult(w, http.StatusOK, map[string]any{"id": rc.ID, "deleted": true})
}

func (a *API) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	p := a.webhookPrincipal(w, r, false)
	if p == nil {
		return
	}
	rc, ok := a.webhookFromPath(w, r, p)
	if !ok {
		return
	}
	log, err := a.Notify.Log(r.Context(), p.Env.ID, rc.ID, 100)
	if err != nil {
		a.internal(w, "list deliveries", err)
		return
	}
	out := make([]map[string]any, len(log))
	for i, d := range log {
		out[i] = map[string]any{
			"id": d.ID, "event_name": d.EventName, "status": d.Status, "attempts": d.Attempts,
			"last_status_code": d.LastStatus, "last_error": d.LastError,
			"next_attempt_at": d.NextAttemptAt.Unix(), "date_created": d.CreatedAt.Unix(),
			"date_modified": d.UpdatedAt.Unix(), "payload": json.RawMessage(d.Payload),
		}
	}
	writeResult(w, http.StatusOK, out)
}

// Access tokens: POST/GET /api/1/access_tokens, DELETE
// /api/1/access_tokens/{id}, with a waggle key holding manage_keys, in the
// key's environment. The token itself is shown once, on creation.
func (a *API) tokenPrincipal(w http.ResponseWriter, r *http.Request) *tenant.RollbarPrincipal {
	return a.authenticate(w, r, presentedToken(r), wagglePerm(tenant.PermManageKeys), "manage_keys (a waggle API key is required)")
}

func tokenJSON(t tenant.RollbarToken, secret string) map[string]any {
	scopes := make([]string, len(t.Scopes))
	for i, s := range t.Scopes {
		scopes[i] = string(s)
	}
	status := "enabled"
	if t.Disabled {
		status = "disabled"
	}
	m := map[string]any{
		"id": t.ID, "project_id": int64(t.Env), "name": t.Name, "scopes": scopes, "status": status,
		"date_created": t.CreatedAt.Unix(),
	}
	if secret != "" {
		m["access_token"] = secret
	}
	return m
}

func (a *API) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	p := a.tokenPrincipal(w, r)
	if p == nil {
		return
	}
	var body struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil || json.Unmarshal(raw, &body) != nil {
		writeErr(w, http.StatusBadRequest, "invalid JSON body")
		return
	}
	scopes := make([]tenant.RollbarScope, len(body.Scopes))
	for i, s := range body.Scopes {
		scopes[i] = tenant.RollbarScope(s)
	}
	t, secret, err := a.Tokens.CreateToken(r.Context(), p.Env.ID, body.Name, scopes)
	if errors.Is(err, tenant.ErrInvalid) {
		writeErr(w, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if err != nil {
		a.internal(w, "create token", err)
		return
	}
	writeResult(w, http.StatusOK, tokenJSON(t, secret))
}

func (a *API) handleListTokens(w http.ResponseWriter, r *http.Request) {
	p := a.tokenPrincipal(w, r)
	if p == nil {
		return
	}
	ts, err := a.Tokens.Tokens(r.Context(), p.Env.ID)
	if err != nil {
		a.internal(w, "list tokens", err)
		return
	}
	out := make([]map[string]any, len(ts))
	for i, t := range ts {
		out[i] = tokenJSON(t, "")
	}
	writeResult(w, http.StatusOK, out)
}

func (a *API) handleDeleteToken(w http.ResponseWriter, r *http.Request) {
	p := a.tokenPrincipal(w, r)
	if p == nil {
		return
	}
	err := a.Tokens.DeleteToken(r.Context(), p.Env.ID, r.PathValue("id"))
	if errors.Is(err, tenant.ErrNotFound) {
		writeErr(w, http.StatusNotFound, "access token not found")
		return
	}
	if err != nil {
		a.internal(w, "delete token", err)
		return
	}
	writeResult(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "deleted": true})
}

func contextBackground() context.Context { return context.Background() }
