package meta

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestUsersSessionsSetupHistory(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db := b.open(t)
		if n, err := db.CountUsers(ctx); err != nil || n != 0 {
			t.Fatal(n, err)
		}
		exp := time.Now().Add(time.Hour)
		if err := db.CreateSetupToken(ctx, "tokhash", exp); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateOwnerWithToken(ctx, "nope", time.Now(), User{Team: 1, Email: "a@x", Role: "owner", PasswordHash: "h"}); !errors.Is(err, ErrTokenUnusable) {
			t.Fatalf("unknown token: %v", err)
		}
		if _, err := db.CreateOwnerWithToken(ctx, "tokhash", exp.Add(time.Second), User{Team: 1, Email: "a@x", Role: "owner", PasswordHash: "h"}); !errors.Is(err, ErrTokenUnusable) {
			t.Fatalf("expired token: %v", err)
		}
		u, err := db.CreateOwnerWithToken(ctx, "tokhash", time.Now(), User{Team: 1, Email: "a@x", Name: "A", Role: "owner", PasswordHash: "h"})
		if err != nil || u.ID == 0 || u.Role != "owner" {
			t.Fatal(u, err)
		}
		if _, err := db.CreateOwnerWithToken(ctx, "tokhash", time.Now(), User{Team: 1, Email: "b@x", Role: "owner", PasswordHash: "h"}); !errors.Is(err, ErrTokenUnusable) {
			t.Fatalf("second use: %v", err)
		}
		if _, err := db.CreateUser(ctx, User{Team: 1, Email: "a@x", Role: "viewer", PasswordHash: "h"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate email: %v", err)
		}
		if got, err := db.UserByEmail(ctx, "a@x"); err != nil || got.ID != u.ID {
			t.Fatal(got, err)
		}
		if err := db.CreateSession(ctx, "s1", u.ID, exp); err != nil {
			t.Fatal(err)
		}
		if uid, e, err := db.Session(ctx, "s1"); err != nil || uid != u.ID || e.Sub(exp).Abs() > time.Millisecond {
			t.Fatal(uid, e, err)
		}
		if err := db.DeleteSession(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.Session(ctx, "s1"); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		for _, s := range []string{`{"a":1}`, `{"a":2}`, `{"a":3}`} {
			if err := db.AddHistory(ctx, HistoryEntry{User: u.ID, Env: 1, Dataset: "shop", Spec: s}); err != nil {
				t.Fatal(err)
			}
		}
		h, err := db.History(ctx, u.ID, 1, 2)
		if err != nil || len(h) != 2 || h[0].Spec != `{"a":3}` || h[1].Spec != `{"a":2}` {
			t.Fatal(h, err)
		}
		if h, _ := db.History(ctx, u.ID, 2, 10); len(h) != 0 {
			t.Fatal("history leaked across environments", h)
		}
	})
}
