package meta

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNotifyDeliveryClaims(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		n1, n2 := openPair(t, b)
		rows, err := n1.CreateNotifyDeliveries(ctx, []NotifyDelivery{{RecipientID: 1, EnvID: 1, EventName: "e", Payload: "{}"}})
		if err != nil {
			t.Fatal(err)
		}
		id := rows[0].ID
		claimable := func(db *DB) int {
			t.Helper()
			ds, err := db.ClaimableNotifyDeliveries(ctx, time.Now().Add(time.Second), 10)
			if err != nil {
				t.Fatal(err)
			}
			return len(ds)
		}
		if claimable(n2) != 1 {
			t.Fatal("a new delivery is not claimable")
		}
		claim := func(db *DB, attempts int, holder string, ttl time.Duration, want bool) {
			t.Helper()
			got, err := db.ClaimNotifyDelivery(ctx, id, attempts, holder, ttl)
			if err != nil || got != want {
				t.Fatalf("ClaimNotifyDelivery(%d, %s) = %v, %v; want %v", attempts, holder, got, err, want)
			}
		}
		claim(n1, 1, "a", time.Minute, false) // wrong attempt
		claim(n1, 0, "a", time.Minute, true)
		claim(n2, 0, "b", time.Minute, false)
		claim(n1, 0, "a", time.Minute, false) // a claim is taken once
		if h, rem, err := n2.NotifyClaim(ctx, id); err != nil || h != "a" || rem <= 50*time.Second {
			t.Fatalf("NotifyClaim = %q %v %v", h, rem, err)
		}
		if claimable(n2) != 0 {
			t.Fatal("a claimed delivery is claimable")
		}
		if ok, err := n2.RenewNotifyClaim(ctx, id, "b", time.Minute); ok || err != nil {
			t.Fatalf("renewed by a non-holder: %v %v", ok, err)
		}
		if ok, err := n2.FinishNotifyAttempt(ctx, NotifyDelivery{ID: id, Status: "delivered", Attempts: 1, NextAttemptAt: time.Now()}, "b"); ok || err != nil {
			t.Fatalf("recorded by a non-holder: %v %v", ok, err)
		}
		// The holder records a failed attempt and releases; the retry is
		// claimable when due, for attempt 2 only.
		if ok, err := n1.FinishNotifyAttempt(ctx, NotifyDelivery{ID: id, Status: "pending", Attempts: 1, LastStatus: 500,
			LastError: "boom", NextAttemptAt: time.Now().Add(500 * time.Millisecond)}, "a"); !ok || err != nil {
			t.Fatalf("FinishNotifyAttempt = %v %v", ok, err)
		}
		if ds, _ := n2.ClaimableNotifyDeliveries(ctx, time.Now(), 10); len(ds) != 0 {
			t.Fatal("a delivery not due yet is claimable")
		}
		claim(n2, 0, "b", time.Minute, false) // stale: attempt 1 was recorded
		// An expired claim is claimable by another holder, whose claim the
		// first can then neither renew nor record over.
		claim(n2, 1, "b", 50*time.Millisecond, true)
		time.Sleep(80 * time.Millisecond)
		if claimable(n1) != 1 {
			t.Fatal("an expired claim is not claimable")
		}
		claim(n1, 1, "a", time.Minute, true)
		if ok, err := n2.RenewNotifyClaim(ctx, id, "b", time.Minute); ok || err != nil {
			t.Fatalf("renewed a lost claim: %v %v", ok, err)
		}
		if ok, err := n1.RenewNotifyClaim(ctx, id, "a", time.Minute); !ok || err != nil {
			t.Fatalf("renew: %v %v", ok, err)
		}
		if err := n1.ReleaseNotifyClaim(ctx, id, "a"); err != nil {
			t.Fatal(err)
		}
		if h, _, _ := n1.NotifyClaim(ctx, id); h != "" {
			t.Fatalf("released claim still held by %q", h)
		}
		claim(n2, 1, "b", time.Minute, true)
		if ok, err := n2.FinishNotifyAttempt(ctx, NotifyDelivery{ID: id, Status: "delivered", Attempts: 2, LastStatus: 200, NextAttemptAt: time.Now()}, "b"); !ok || err != nil {
			t.Fatalf("FinishNotifyAttempt = %v %v", ok, err)
		}
		claim(n1, 2, "a", time.Minute, false) // delivered: no longer pending
		if claimable(n1) != 0 {
			t.Fatal("a delivered delivery is claimable")
		}

		// Many holders racing for many deliveries: each is claimed once.
		var ds []NotifyDelivery
		for range 20 {
			ds = append(ds, NotifyDelivery{RecipientID: 1, EnvID: 1, EventName: "race", Payload: "{}"})
		}
		ds, err = n1.CreateNotifyDeliveries(ctx, ds)
		if err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i, db := range []*DB{n1, n2, n1, n2} {
			wg.Go(func() {
				for _, d := range ds {
					ok, err := db.ClaimNotifyDelivery(ctx, d.ID, 0, string(rune('p'+i)), time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						wins.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if wins.Load() != int32(len(ds)) {
			t.Errorf("%d claims won for %d deliveries", wins.Load(), len(ds))
		}
	})
}
