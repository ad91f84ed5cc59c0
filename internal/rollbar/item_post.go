package rollbar

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fastjson"
	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/tenant"
	"github.com/waggle-hq/waggle/internal/wire"
)

// itemLimits: Rollbar documents a 1024 KB maximum payload; rollbar.js
// truncates to 512 KiB. Larger bodies get 413.
var itemLimits = wire.Limits{MaxBytes: 1 << 20, MaxDecodedBytes: 1 << 20}

var parsers fastjson.ParserPool

// handlePostItem serves POST /api/1/item/: one occurrence, answered once
// its item change and its event are durable.
func (a *API) handlePostItem(w http.ResponseWriter, r *http.Request) {
	// A token in the header is checked before the body is read.
	token := r.Header.Get("X-Rollbar-Access-Token")
	var principal *tenant.RollbarPrincipal
	if token != "" {
		p, err := a.Tokens.Authenticate(r.Context(), token)
		if err != nil {
			writeErr(w, http.StatusForbidden, "access token not found: "+redact(token))
			return
		}
		principal = p
	}
	body, err := wire.ReadRequest(r, itemLimits, a.Pipeline.Budget())
	if err != nil {
		switch {
		case errors.Is(err, wire.ErrTooLarge):
			writeErr(w, http.StatusRequestEntityTooLarge, msgTooLarge)
		case errors.Is(err, wire.ErrOverloaded):
			a.writeRateLimited(w)
		case errors.Is(err, wire.ErrEmpty):
			writeErr(w, http.StatusBadRequest, "empty payload")
		default:
			writeErr(w, http.StatusBadRequest, "unreadable request body")
		}
		return
	}
	defer body.Release()
	leave, err := a.Pipeline.DecodeGate().Enter(r.Context())
	if err != nil {
		return // the client went away
	}
	occ, status, msg := a.safeDecode(r, body.Bytes(), token, principal)
	leave()
	body.Release()
	if status != http.StatusOK {
		writeErr(w, status, msg)
		return
	}
	env := occ.env
	// Grouping is in memory for known items; the item changes are written
	// by the next metadata flush, while the event goes through the
	// pipeline's group commit. The answer waits for both.
	ticket, err := a.Items.Observe(r.Context(), env, occ.obs)
	if err != nil {
		a.Log.Error("rollbar: group occurrence", "err", err)
		w.Header().Set("Retry-After", "1")
		writeErr(w, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	if !occ.obs.Duplicate {
		ev := occ.event(&occ.obs.Item)
		if err := a.Pipeline.Submit(r.Context(), event.Batch{Env: env, Events: []event.Event{ev}}); err != nil {
			if occ.obs.UUID != "" {
				a.Items.Forget(env, occ.obs.UUID)
			}
			a.submitError(w, err)
			return
		}
	}
	if err := ticket.Wait(r.Context()); err != nil {
		a.Log.Error("rollbar: write item changes", "err", err)
		w.Header().Set("Retry-After", "1")
		writeErr(w, http.StatusServiceUnavailable, msgUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	b := make([]byte, 0, 80)
	b = append(b, `{"err":0,"result":{"id":null,"uuid":`...)
	b = appendJSONString(b, occ.obs.UUID)
	b = append(b, "}}"...)
	_, _ = w.Write(b)
}

// safeDecode is decodeOccurrence with a safety net: a payload that makes the
// decoder panic (a bug) is answered 400 and logged, and never leaks the
// decode gate.
func (a *API) safeDecode(r *http.Request, body []byte, token string, principal *tenant.RollbarPrincipal) (occ *occurrence, status int, msg string) {
	defer func() {
		if p := recover(); p != nil {
			a.Log.Error("rollbar: BUG: decoder panicked", "panic", p)
			occ, status, msg = nil, http.StatusBadRequest, "malformed payload"
		}
	}()
	return a.decodeOccurrence(r, body, token, principal)
}

// occurrence is a decoded, authorized item ready to group and store.
type occurrence struct {
	env  event.EnvID
	it   *item
	obs  *Observation
	recv time.Time
	// traceID and spanID link the occurrence to its trace.
	traceID, spanID string
}

// decodeOccurrence parses, authenticates and prepares one item payload. It
// returns the HTTP status and message on failure. Everything returned owns
// its memory: body may be released afterwards.
func (a *API) decodeOccurrence(r *http.Request, body []byte, token string, principal *tenant.RollbarPrincipal) (*occurrence, int, string) {
	p := parsers.Get()
	defer parsers.Put(p)
	it, derr := parsePayload(p, body, isForm(r))
	if principal == nil {
		if token == "" && it != nil {
			token = it.AccessToken
		}
		if token == "" {
			token = r.URL.Query().Get("access_token")
		}
		if token == "" {
			if derr != nil {
				return nil, errStatus(derr), derr.Error()
			}
			return nil, http.StatusForbidden, msgTokenMissing
		}
		pr, err := a.Tokens.Authenticate(r.Context(), token)
		if err != nil {
			return nil, http.StatusForbidden, "access token not found: " + redact(token)
		}
		principal = pr
	}
	if derr != nil {
		return nil, errStatus(derr), derr.Error()
	}
	if !principal.Has(tenant.ScopePostServerItem) &&
		!(principal.Has(tenant.ScopePostClientItem) && isClientPlatform(it.Platform)) {
		if principal.Has(tenant.ScopePostClientItem) {
			return nil, http.StatusForbidden, "insufficient privileges: a post_client_item token may only post items whose platform is browser, android, ios, flash or client"
		}
		return nil, http.StatusForbidden, "insufficient privileges: this access token lacks the post_server_item scope"
	}

	now := a.Now()
	var ar fastjson.Arena
	// $remote_ip: the caller's address.
	if ip := it.UserIP; ip == "$remote_ip" || ip == "$remote_ip_anonymize" {
		addr := remoteIP(r)
		if ip == "$remote_ip_anonymize" {
			addr = anonymizeIP(addr)
		}
		it.UserIP = addr
		if req := it.Data.Get("request"); req != nil && req.Type() == fastjson.TypeObject {
			req.Set("user_ip", ar.NewString(addr))
		}
	}
	if it.UUID == "" {
		it.UUID = newUUID()
		it.Data.Set("uuid", ar.NewString(it.UUID))
	}
	if it.TraceID == "" {
		it.TraceID, it.SpanID = parseTraceparent(r.Header.Get("traceparent"))
		if it.TraceID == "" {
			it.TraceID, it.SpanID = parseAmznTraceID(r.Header.Get("X-Amzn-Trace-Id"))
		}
	}
	occID := a.nextOccurrenceID(now)
	data := storedData(it.Data)
	title := it.Title
	if title == "" {
		title = defaultTitle(it)
	}
	obs := &Observation{
		Hash: fingerprint(it), Title: title, Level: defaultLevel(it), Environment: it.Environment,
		CodeVersion: it.CodeVersion, Platform: it.Platform, Framework: it.Framework, Language: it.Language,
		UUID: it.UUID, OccurrenceID: occID, Timestamp: now.Unix(), Data: data,
	}
	if len(it.Chain) > 0 {
		obs.Class = it.Chain[0].Class
	}
	it.Data = nil // points into the body
	return &occurrence{env: principal.Env.ID, it: it, obs: obs, recv: now}, http.StatusOK, ""
}

func errStatus(err error) int {
	var de *decodeError
	if errors.As(err, &de) {
		return de.status
	}
	return http.StatusBadRequest
}

// isForm reports a form-encoded body (the legacy payload= form).
func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded"
}

// occIDEpoch is the origin of occurrence ids: ids are milliseconds since
// then, shifted left 12 bits, plus a sequence number, so they grow with time,
// encode their receipt time and stay below 2^53 (exact in JavaScript) for
// over a century.
var occIDEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

const occIDShift = 12

func (a *API) nextOccurrenceID(now time.Time) int64 {
	base := now.Sub(occIDEpoch).Milliseconds() << occIDShift
	for {
		last := a.lastOccID.Load()
		id := max(base, last+1)
		if a.lastOccID.CompareAndSwap(last, id) {
			return id
		}
	}
}

// occurrenceTime is the receipt time encoded in an occurrence id.
func occurrenceTime(id int64) time.Time {
	return occIDEpoch.Add(time.Duration(id>>occIDShift) * time.Millisecond)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// storedData serializes data for storage, within event.MaxStringBytes:
// heavy parts (locals, source context, telemetry, request bodies, notifier
// diagnostics) are dropped from payloads that are too large, then frames
// from the middle of long stacks.
func storedData(data *fastjson.Value) []byte {
	out := data.MarshalTo(nil)
	if len(out) <= event.MaxStringBytes {
		return out
	}
	del := func(v *fastjson.Value, keys ...string) {
		if v != nil && v.Type() == fastjson.TypeObject {
			for _, k := range keys {
				v.Del(k)
			}
		}
	}
	body := data.Get("body")
	var traces []*fastjson.Value
	if t := body.Get("trace"); t != nil {
		traces = append(traces, t)
	}
	traces = append(traces, arr(body.Get("trace_chain"))...)
	del(body, "telemetry")
	del(data.Get("request"), "body", "POST", "json", "headers")
	del(data.Get("notifier"), "diagnostic", "configured_options")
	del(data, "custom", "client")
	for _, t := range traces {
		{
			for _, f := range arr(t.Get("frames")) {
				del(f, "locals", "context", "code", "args", "kwargs", "argspec", "varargspec", "keywordspec", "runtimePosition")
			}
		}
	}
	out = data.MarshalTo(out[:0])
	if len(out) <= event.MaxStringBytes {
		return out
	}
	for _, t := range traces {
		if frames := arr(t.Get("frames")); len(frames) > 40 {
			var ar fastjson.Arena
			kept := ar.NewArray()
			n := 0
			for i, f := range frames {
				if i < 20 || i >= len(frames)-20 {
					kept.SetArrayItem(n, f)
					n++
				}
			}
			t.Set("frames", kept)
		}
	}
	out = data.MarshalTo(out[:0])
	if len(out) <= event.MaxStringBytes {
		return out
	}
	// Still too large (huge messages or custom keys): keep a summary.
	var ar fastjson.Arena
	sum := ar.NewObject()
	for _, k := range []string{"environment", "level", "uuid", "timestamp", "code_version", "platform", "language", "framework", "title", "fingerprint"} {
		if v := data.Get(k); v != nil {
			if v.Type() == fastjson.TypeString && len(v.GetStringBytes()) > 1024 {
				continue
			}
			sum.Set(k, v)
		}
	}
	sum.Set("waggle_truncated", ar.NewTrue())
	return sum.MarshalTo(out[:0])
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

var _ = strings.TrimSpace
