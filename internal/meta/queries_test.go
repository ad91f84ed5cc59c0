package meta

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
)

func TestSavedQueries(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db := b.open(t)
		at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
		q := query.SavedQuery{ID: "abc123", Dataset: "shop", Spec: []byte(`{"calculations":[{"op":"COUNT"}],"time_range":7200}`), CreatedAt: at}
		got, err := db.SaveQuery(ctx, 1, q)
		if err != nil || got.ID != q.ID || got.Dataset != "shop" || string(got.Spec) != string(q.Spec) || !got.CreatedAt.Equal(at) {
			t.Fatalf("SaveQuery = %+v, %v", got, err)
		}
		// Saving again keeps the first.
		again := q
		again.Spec, again.CreatedAt = []byte(`{"other":true}`), at.Add(time.Hour)
		if got, err := db.SaveQuery(ctx, 1, again); err != nil || string(got.Spec) != string(q.Spec) || !got.CreatedAt.Equal(at) {
			t.Fatalf("SaveQuery again = %+v, %v", got, err)
		}
		// The same id elsewhere is another query.
		other := q
		other.Dataset = "__all__"
		if _, err := db.SaveQuery(ctx, 2, other); err != nil {
			t.Fatal(err)
		}
		for _, k := range []struct {
			env         int64
			dataset, id string
		}{{2, "shop", "abc123"}, {1, "__all__", "abc123"}, {1, "shop", "nope"}} {
			if _, err := db.LoadQuery(ctx, eventEnv(k.env), k.dataset, k.id); !errors.Is(err, query.ErrQueryNotFound) {
				t.Errorf("LoadQuery(%v) = %v, want ErrQueryNotFound", k, err)
			}
		}
		if _, err := db.SaveQuery(ctx, 1, query.SavedQuery{ID: "bad", Dataset: "shop", Spec: []byte("\xff"), CreatedAt: at}); err == nil {
			t.Errorf("SaveQuery with invalid UTF-8 succeeded")
		}
		// Kept across a restart.
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db = b.open(t)
		got, err = db.LoadQuery(ctx, 1, "shop", "abc123")
		if err != nil || string(got.Spec) != string(q.Spec) || !got.CreatedAt.Equal(at) {
			t.Fatalf("LoadQuery after reopen = %+v, %v", got, err)
		}
		if err := db.DeleteQueries(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := db.LoadQuery(ctx, 1, "shop", "abc123"); !errors.Is(err, query.ErrQueryNotFound) {
			t.Fatalf("LoadQuery after DeleteQueries = %v", err)
		}
		if _, err := db.LoadQuery(ctx, 2, "__all__", "abc123"); err != nil {
			t.Fatalf("other environment's query after DeleteQueries: %v", err)
		}
	})
}

func eventEnv(id int64) event.EnvID { return event.EnvID(id) }
