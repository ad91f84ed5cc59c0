package meta

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRollbarAndNotifyTables runs every Rollbar and notification method once
// on each backend: the SQL is shared, so this is what shows it is portable.
func TestRollbarAndNotifyTables(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db := b.open(t)
		check := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}

		tok, err := db.CreateRollbarToken(ctx, RollbarToken{ID: "rt1", EnvID: 1, Name: "n", SecretHash: []byte{1, 2}, Scopes: []string{"read", "post_server_item"}})
		check("CreateRollbarToken", err)
		if _, err := db.CreateRollbarToken(ctx, RollbarToken{ID: "rt2", EnvID: 1, SecretHash: []byte{1, 2}}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate token hash: %v", err)
		}
		check("SetRollbarTokenDisabled", db.SetRollbarTokenDisabled(ctx, 1, tok.ID, true))
		toks, err := db.RollbarTokens(ctx, 1)
		if err != nil || len(toks) != 1 || !toks[0].Disabled || len(toks[0].Scopes) != 2 {
			t.Fatalf("RollbarTokens = %+v, %v", toks, err)
		}
		if all, err := db.AllRollbarTokens(ctx); err != nil || len(all) != 1 {
			t.Fatalf("AllRollbarTokens = %+v, %v", all, err)
		}
		check("DeleteRollbarToken", db.DeleteRollbarToken(ctx, 1, tok.ID))

		ids, err := db.WriteRollbarItems(ctx, []RollbarItemWrite{
			{Insert: true, Item: RollbarItem{EnvID: 1, Counter: 1, Hash: "h1", Title: "boom", TotalOccurrences: 1, Environments: "[]", CodeVersions: "[]"}},
			{Insert: true, Item: RollbarItem{EnvID: 1, Counter: 2, Hash: "h2", Title: "bang", TotalOccurrences: 1, Environments: "[]", CodeVersions: "[]"}},
		})
		if err != nil || len(ids) != 2 || ids[0] == ids[1] {
			t.Fatalf("WriteRollbarItems = %v, %v", ids, err)
		}
		_, err = db.WriteRollbarItems(ctx, []RollbarItemWrite{{Item: RollbarItem{ID: ids[0], Title: "boom", Status: "resolved", Environments: "[]", CodeVersions: "[]"}, AddOccurrences: 4}})
		check("WriteRollbarItems update", err)
		if _, err := db.WriteRollbarItems(ctx, []RollbarItemWrite{{Insert: true, Item: RollbarItem{EnvID: 1, Counter: 3, Hash: "h1"}}}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate item hash: %v", err)
		}
		items, err := db.RollbarItems(ctx, 1)
		if err != nil || len(items) != 2 || items[0].TotalOccurrences != 5 || items[0].Status != "resolved" {
			t.Fatalf("RollbarItems = %+v, %v", items, err)
		}

		d, err := db.CreateRollbarDeploy(ctx, RollbarDeploy{EnvID: 1, Environment: "prod", Revision: "abc", Status: "started", StartTime: 100})
		check("CreateRollbarDeploy", err)
		d2, err := db.UpdateRollbarDeployStatus(ctx, 1, d.ID, "succeeded", 200)
		if err != nil || d2.Status != "succeeded" || d2.FinishTime != 200 {
			t.Fatalf("UpdateRollbarDeployStatus = %+v, %v", d2, err)
		}
		if got, err := db.RollbarDeploy(ctx, 1, d.ID); err != nil || got.Revision != "abc" {
			t.Fatalf("RollbarDeploy = %+v, %v", got, err)
		}
		if ds, err := db.RollbarDeploys(ctx, 1, 0, 10); err != nil || len(ds) != 1 {
			t.Fatalf("RollbarDeploys = %+v, %v", ds, err)
		}

		r, err := db.CreateNotifyRecipient(ctx, NotifyRecipient{EnvID: 1, Source: "rollbar", Kind: "webhook", Name: "hook", Target: "http://127.0.0.1:9/", Config: "{}", Events: []string{"new_item"}, Enabled: true})
		check("CreateNotifyRecipient", err)
		if got, err := db.NotifyRecipient(ctx, r.ID); err != nil || got.Target != r.Target || len(got.Events) != 1 {
			t.Fatalf("NotifyRecipient = %+v, %v", got, err)
		}
		if rs, err := db.NotifyRecipients(ctx, 1, "rollbar"); err != nil || len(rs) != 1 {
			t.Fatalf("NotifyRecipients = %+v, %v", rs, err)
		}
		if rs, err := db.AllNotifyRecipients(ctx); err != nil || len(rs) != 1 {
			t.Fatalf("AllNotifyRecipients = %+v, %v", rs, err)
		}
		ds, err := db.CreateNotifyDeliveries(ctx, []NotifyDelivery{{RecipientID: r.ID, EnvID: 1, EventName: "new_item", Payload: "{}"}})
		if err != nil || len(ds) != 1 || ds[0].Status != "pending" {
			t.Fatalf("CreateNotifyDeliveries = %+v, %v", ds, err)
		}
		if p, err := db.PendingNotifyDeliveries(ctx); err != nil || len(p) != 1 {
			t.Fatalf("PendingNotifyDeliveries = %+v, %v", p, err)
		}
		ds[0].Status, ds[0].Attempts, ds[0].LastStatus, ds[0].NextAttemptAt = "delivered", 1, 200, time.Now()
		check("UpdateNotifyDelivery", db.UpdateNotifyDelivery(ctx, ds[0]))
		if p, err := db.PendingNotifyDeliveries(ctx); err != nil || len(p) != 0 {
			t.Fatalf("PendingNotifyDeliveries after delivery = %+v, %v", p, err)
		}
		if got, err := db.NotifyDeliveries(ctx, r.ID, 10); err != nil || len(got) != 1 || got[0].LastStatus != 200 {
			t.Fatalf("NotifyDeliveries = %+v, %v", got, err)
		}
		check("DeleteNotifyRecipient", db.DeleteNotifyRecipient(ctx, 1, r.ID))
	})
}
