package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// recipientsTTL bounds how long a cached recipient list is used, so that
// changes made by another node are seen.
const recipientsTTL = 30 * time.Second

type cachedRecipients struct {
	list []Recipient
	at   time.Time
}

type recipientsKey struct {
	env    event.EnvID
	source string
}

// MaxRecipientEvents bounds the event names of one recipient.
const MaxRecipientEvents = 64

// CreateRecipient validates and stores a recipient (r.ID is ignored).
func (d *Deliverer) CreateRecipient(ctx context.Context, r Recipient) (Recipient, error) {
	if r.Source == "" || r.Env == 0 {
		return Recipient{}, fmt.Errorf("%w: source and environment are required", ErrInvalid)
	}
	switch r.Kind {
	case KindWebhook:
		u, err := url.Parse(r.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Recipient{}, fmt.Errorf("%w: webhook url must be an absolute http or https URL", ErrInvalid)
		}
	default:
		if d.opt.Senders[r.Kind] == nil {
			return Recipient{}, fmt.Errorf("%w: unknown kind %q", ErrInvalid, r.Kind)
		}
	}
	if len(r.Events) > MaxRecipientEvents || len(r.Name) > 255 || len(r.Target) > 2048 {
		return Recipient{}, fmt.Errorf("%w: too long", ErrInvalid)
	}
	for _, e := range r.Events {
		if e == "" || strings.ContainsAny(e, " \t\n") || len(e) > 64 {
			return Recipient{}, fmt.Errorf("%w: bad event name %q", ErrInvalid, e)
		}
	}
	cfg, err := json.Marshal(r.Config)
	if err != nil {
		return Recipient{}, fmt.Errorf("%w: config: %v", ErrInvalid, err)
	}
	row, err := d.db.CreateNotifyRecipient(ctx, meta.NotifyRecipient{
		EnvID: int64(r.Env), Source: r.Source, Kind: string(r.Kind), Name: r.Name, Target: r.Target,
		Config: string(cfg), Events: r.Events, Enabled: r.Enabled,
	})
	if err != nil {
		return Recipient{}, fmt.Errorf("notify: %w", err)
	}
	d.invalidate(r.Env, r.Source)
	return recipientFromMeta(row), nil
}

// Recipients lists env's recipients of source (every source when empty).
func (d *Deliverer) Recipients(ctx context.Context, env event.EnvID, source string) ([]Recipient, error) {
	k := recipientsKey{env, source}
	d.mu.Lock()
	c, ok := d.recipCache()[k]
	d.mu.Unlock()
	if ok && time.Since(c.at) < recipientsTTL {
		return c.list, nil
	}
	rows, err := d.db.NotifyRecipients(ctx, int64(env), source)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	list := make([]Recipient, 0, len(rows))
	for _, row := range rows {
		list = append(list, recipientFromMeta(row))
	}
	d.mu.Lock()
	d.recipCache()[k] = cachedRecipients{list: list, at: time.Now()}
	d.mu.Unlock()
	return list, nil
}

// Recipient returns one of env's recipients.
func (d *Deliverer) Recipient(ctx context.Context, env event.EnvID, id int64) (Recipient, error) {
	row, err := d.db.NotifyRecipient(ctx, id)
	if errors.Is(err, meta.ErrNotFound) || (err == nil && row.EnvID != int64(env)) {
		return Recipient{}, ErrNotFound
	}
	if err != nil {
		return Recipient{}, fmt.Errorf("notify: %w", err)
	}
	return recipientFromMeta(row), nil
}

// DeleteRecipient removes one of env's recipients; its pending deliveries
// are dropped as they come up.
func (d *Deliverer) DeleteRecipient(ctx context.Context, env event.EnvID, id int64) error {
	r, err := d.Recipient(ctx, env, id)
	if err != nil {
		return err
	}
	if err := d.db.DeleteNotifyRecipient(ctx, int64(env), id); err != nil {
		if errors.Is(err, meta.ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("notify: %w", err)
	}
	d.invalidate(env, r.Source)
	return nil
}

// LogEntry is one delivery as the log shows it.
type LogEntry struct {
	ID            int64
	RecipientID   int64
	EventName     string
	Payload       string
	Status        string
	Attempts      int
	LastStatus    int
	LastError     string
	NextAttemptAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Log lists a recipient's deliveries, newest first, at most limit.
func (d *Deliverer) Log(ctx context.Context, env event.EnvID, recipientID int64, limit int) ([]LogEntry, error) {
	if _, err := d.Recipient(ctx, env, recipientID); err != nil {
		return nil, err
	}
	rows, err := d.db.NotifyDeliveries(ctx, recipientID, limit)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	out := make([]LogEntry, len(rows))
	for i, r := range rows {
		out[i] = LogEntry{ID: r.ID, RecipientID: r.RecipientID, EventName: r.EventName, Payload: r.Payload,
			Status: r.Status, Attempts: r.Attempts, LastStatus: r.LastStatus, LastError: r.LastError,
			NextAttemptAt: r.NextAttemptAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	}
	return out, nil
}

func (d *Deliverer) invalidate(env event.EnvID, source string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.recipCache(), recipientsKey{env, source})
	delete(d.recipCache(), recipientsKey{env, ""})
}

// recipCache returns the cache; the caller holds d.mu.
func (d *Deliverer) recipCache() map[recipientsKey]cachedRecipients {
	if d.recips == nil {
		d.recips = map[recipientsKey]cachedRecipients{}
	}
	return d.recips
}

func recipientFromMeta(m meta.NotifyRecipient) Recipient {
	r := Recipient{ID: m.ID, Env: event.EnvID(m.EnvID), Source: m.Source, Kind: Kind(m.Kind), Name: m.Name,
		Target: m.Target, Events: m.Events, Enabled: m.Enabled, CreatedAt: m.CreatedAt}
	_ = json.Unmarshal([]byte(m.Config), &r.Config)
	return r
}
