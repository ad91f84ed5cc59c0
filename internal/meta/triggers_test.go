package meta

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// TestHoneycombObjects round-trips the management documents, the trigger
// state's compare-and-set and the query history on both backends.
func TestHoneycombObjects(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db := b.open(t)
		o, err := db.CreateObject(ctx, Object{EnvID: 1, Kind: KindBoard, ID: "b1", Body: []byte(`{"name":"x"}`)})
		if err != nil || o.CreatedAt.IsZero() {
			t.Fatal(o, err)
		}
		if _, err := db.CreateObject(ctx, Object{EnvID: 1, Kind: KindBoard, ID: "b1", Body: []byte(`{}`)}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate: %v", err)
		}
		if _, err := db.CreateObject(ctx, Object{EnvID: 1, Kind: KindBoardView, ID: "v1", Parent: "b1", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Object(ctx, 2, KindBoard, "b1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other environment: %v", err)
		}
		o.Body = []byte(`{"name":"y"}`)
		if got, err := db.UpdateObject(ctx, o); err != nil || string(got.Body) != `{"name":"y"}` {
			t.Fatal(got, err)
		}
		if vs, err := db.Objects(ctx, 1, KindBoardView, "b1"); err != nil || len(vs) != 1 {
			t.Fatal(vs, err)
		}
		if err := db.DeleteObjectsOf(ctx, 1, KindBoardView, "b1"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteObject(ctx, 1, KindBoard, "b1"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteObject(ctx, 1, KindBoard, "b1"); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}

		// Of concurrent commits of one interval exactly one wins, and only
		// its deliveries are recorded.
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, ds, err := db.CommitTriggerEvaluation(ctx, TriggerState{EnvID: 1, TriggerID: "t1", IntervalStart: 600, Triggered: true},
					[]NotifyDelivery{{RecipientID: 9, EnvID: 1, EventName: "trigger:t1", Payload: "{}"}})
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
					if len(ds) != 1 || ds[0].ID == 0 {
						t.Error(ds)
					}
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d commits won", wins)
		}
		if ok, _, err := db.CommitTriggerEvaluation(ctx, TriggerState{EnvID: 1, TriggerID: "t1", IntervalStart: 540}, nil); ok || err != nil {
			t.Fatal("an older interval was recorded", err)
		}
		if ok, _, err := db.CommitTriggerEvaluation(ctx, TriggerState{EnvID: 1, TriggerID: "t1", IntervalStart: 660}, nil); !ok || err != nil {
			t.Fatal("the next interval was not recorded", err)
		}
		st, err := db.TriggerState(ctx, 1, "t1")
		if err != nil || st.IntervalStart != 660 || st.Triggered {
			t.Fatal(st, err)
		}
		if ds, err := db.NotifyDeliveriesByEvent(ctx, 1, "trigger:t1", 10); err != nil || len(ds) != 1 {
			t.Fatal(ds, err)
		}

		for i := range 3 {
			if _, err := db.RecordQueryRun(ctx, QueryRun{EnvID: 1, KeyID: []string{"k1", "k2", "k1"}[i], Dataset: "shop", QueryID: "q", Spec: "{}"}); err != nil {
				t.Fatal(err)
			}
		}
		runs, err := db.QueryRuns(ctx, QueryRunFilter{EnvID: 1, KeyID: "k1"})
		if err != nil || len(runs) != 2 || runs[0].ID < runs[1].ID {
			t.Fatal(runs, err)
		}
		if runs, _ := db.QueryRuns(ctx, QueryRunFilter{EnvID: 2}); len(runs) != 0 {
			t.Fatal(runs)
		}

		r, err := db.CreateNotifyRecipient(ctx, NotifyRecipient{EnvID: 1, Source: "honeycomb", Kind: "webhook", Target: "http://a"})
		if err != nil {
			t.Fatal(err)
		}
		r.Target = "http://b"
		if got, err := db.UpdateNotifyRecipient(ctx, r); err != nil || got.Target != "http://b" {
			t.Fatal(got, err)
		}
		r.EnvID = 2
		if _, err := db.UpdateNotifyRecipient(ctx, r); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	})
}
