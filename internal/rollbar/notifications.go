package rollbar

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/waggle-hq/waggle/internal/notify"
)

// Webhook event names (Rollbar's).
const (
	EventNewItem         = "new_item"
	EventReactivatedItem = "reactivated_item"
	EventExpRepeatItem   = "exp_repeat_item"
	EventDeploy          = "deploy"
)

// WebhookEvents are the event names a Rollbar webhook may subscribe to.
var WebhookEvents = []string{EventNewItem, EventReactivatedItem, EventExpRepeatItem, EventDeploy}

// sendNotifications turns item changes into notifications until Close.
func (a *API) sendNotifications() {
	for changes := range a.notifyQ {
		for _, c := range changes {
			n, err := a.itemNotification(c)
			if err != nil {
				a.Log.Error("rollbar: build notification", "err", err)
				continue
			}
			if err := a.Notify.Notify(context.Background(), n); err != nil {
				a.Log.Error("rollbar: notify", "event", c.Kind, "err", err)
			}
		}
	}
}

// itemNotification builds Rollbar's webhook payload:
// {"event_name":…,"data":{"item":{…,"last_occurrence":{…}},"url":…}}, with
// data.occurrences for exp_repeat_item.
func (a *API) itemNotification(c Change) (notify.Notification, error) {
	item := itemJSON(&c.Item)
	if len(c.Data) > 0 {
		item["last_occurrence"] = json.RawMessage(c.Data)
	}
	data := map[string]any{
		"item": item,
		"url":  fmt.Sprintf("%s/api/1/item/%d", a.BaseURL, c.Item.ID),
	}
	if c.Kind == EventExpRepeatItem {
		data["occurrences"] = c.Occurrences
	}
	b, err := json.Marshal(map[string]any{"event_name": c.Kind, "data": data})
	if err != nil {
		return notify.Notification{}, err
	}
	summary := fmt.Sprintf("[%s] #%d %s", c.Kind, c.Item.Counter, c.Item.Title)
	if c.Kind == EventExpRepeatItem {
		summary = fmt.Sprintf("[%s] #%d %s (%d occurrences)", c.Kind, c.Item.Counter, c.Item.Title, c.Occurrences)
	}
	return notify.Notification{Env: c.Env, Source: Source, EventName: c.Kind, Payload: b, Summary: summary}, nil
}
