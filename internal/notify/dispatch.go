package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// Addressed deliveries: a feature that decides itself which recipients a
// notification goes to, and renders a payload per recipient (the trigger
// engine), records the deliveries in its own transaction together with its
// state (meta.NotifyDelivery rows, e.g. by meta.DB.CommitTriggerEvaluation)
// and hands them to Dispatch. A crash between the two loses nothing: the
// rows are pending and a Deliverer's scan (on any node) takes them on.

// Addressed is one payload for one recipient.
type Addressed struct {
	Recipient Recipient
	Payload   []byte
	Summary   string
}

// Rows returns the pending delivery rows of items, to be recorded.
func Rows(env event.EnvID, eventName string, items []Addressed) []meta.NotifyDelivery {
	rows := make([]meta.NotifyDelivery, len(items))
	for i, it := range items {
		rows[i] = meta.NotifyDelivery{RecipientID: it.Recipient.ID, EnvID: int64(env), EventName: eventName, Payload: string(it.Payload)}
	}
	return rows
}

// Dispatch starts delivering recorded rows (as returned by the database, with
// ids) of items, in the same order, in the background.
func (d *Deliverer) Dispatch(eventName string, items []Addressed, rows []meta.NotifyDelivery) {
	for i, row := range rows {
		if i >= len(items) {
			break
		}
		d.admit(Delivery{ID: row.ID, Recipient: items[i].Recipient, EventName: eventName,
			Payload: items[i].Payload, Summary: items[i].Summary, Attempt: 1})
	}
}

// Deliver records and dispatches items at once (for callers without state
// of their own to commit with them).
func (d *Deliverer) Deliver(ctx context.Context, env event.EnvID, eventName string, items []Addressed) error {
	if len(items) == 0 {
		return nil
	}
	rows, err := d.db.CreateNotifyDeliveries(ctx, Rows(env, eventName, items))
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	d.Dispatch(eventName, items, rows)
	return nil
}

// UpdateRecipient validates and replaces one of env's recipients.
func (d *Deliverer) UpdateRecipient(ctx context.Context, r Recipient) (Recipient, error) {
	if err := d.validate(r); err != nil {
		return Recipient{}, err
	}
	cfg, err := jsonConfig(r.Config)
	if err != nil {
		return Recipient{}, err
	}
	row, err := d.db.UpdateNotifyRecipient(ctx, meta.NotifyRecipient{
		ID: r.ID, EnvID: int64(r.Env), Kind: string(r.Kind), Name: r.Name, Target: r.Target,
		Config: cfg, Events: r.Events, Enabled: r.Enabled,
	})
	if err != nil {
		return Recipient{}, mapNotFound(err)
	}
	d.invalidate(r.Env, r.Source)
	return recipientFromMeta(row), nil
}

// ParseRecipientID parses a recipient id as the API shows it.
func ParseRecipientID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// validate checks what CreateRecipient checks of r's kind and target.
func (d *Deliverer) validate(r Recipient) error {
	if r.Source == "" || r.Env == 0 || r.ID == 0 {
		return fmt.Errorf("%w: id, source and environment are required", ErrInvalid)
	}
	switch r.Kind {
	case KindWebhook, KindSlack, KindMSTeamsWorkflow:
		if err := CheckURL(r.Target); err != nil {
			return err
		}
	case KindPagerDuty:
		if r.Target != "" {
			if err := CheckURL(r.Target); err != nil {
				return err
			}
		}
	default:
		if d.opt.Senders[r.Kind] == nil {
			return fmt.Errorf("%w: unknown kind %q", ErrInvalid, r.Kind)
		}
	}
	if len(r.Events) > MaxRecipientEvents || len(r.Name) > 255 || len(r.Target) > 2048 {
		return fmt.Errorf("%w: too long", ErrInvalid)
	}
	return nil
}

// CheckURL reports whether s is an absolute http or https URL with a host.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: %.100q is not an absolute http or https URL", ErrInvalid, s)
	}
	return nil
}

func jsonConfig(c map[string]string) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("%w: config: %v", ErrInvalid, err)
	}
	return string(b), nil
}

func mapNotFound(err error) error {
	if errors.Is(err, meta.ErrNotFound) {
		return ErrNotFound
	}
	return fmt.Errorf("notify: %w", err)
}
