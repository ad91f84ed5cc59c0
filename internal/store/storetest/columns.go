package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
)

// columnByName finds a column in a dataset's column list.
func columnByName(t testing.TB, s store.Store, env event.EnvID, ds, name string) (store.Column, bool) {
	t.Helper()
	cols, err := s.Columns(context.Background(), env, ds)
	if err != nil {
		t.Fatalf("columns of %s: %v", ds, err)
	}
	for _, c := range cols {
		if c.Name == name {
			return c, true
		}
	}
	return store.Column{}, false
}

// countWhere counts the events of ds matching f over [from, to).
func countWhere(t testing.TB, s store.Store, env event.EnvID, ds string, from, to time.Time, fs ...query.Filter) float64 {
	t.Helper()
	r := execute(t, s, env, &query.Plan{Datasets: []string{ds}, Start: from, End: to, Filters: fs,
		Aggregates: []query.Aggregate{{Op: query.AggCount}}})
	return r.Groups[0].Values[0].Number
}

func testColumns(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	ctx := context.Background()
	t0 := base()
	from, to := t0.Add(-48*time.Hour), t0.Add(time.Hour)
	ev := func(at time.Time, fs ...event.Field) event.Event {
		return event.Event{Time: at, Dataset: "cols", SampleRate: 1, Fields: fs}
	}
	// Two days, and "b" with two value types on the first.
	write(t, s, 1, []event.Event{
		ev(t0, event.Field{Key: "a", Value: event.String("x")}, event.Field{Key: "b", Value: event.Int(1)}),
		ev(t0.Add(-30*time.Hour), event.Field{Key: "a", Value: event.String("y")}, event.Field{Key: "b", Value: event.Float(2.5)}),
		ev(t0, event.Field{Key: "b", Value: event.String("three")}),
	})
	// Another environment with the same dataset and column names.
	write(t, s, 2, []event.Event{ev(t0, event.Field{Key: "b", Value: event.Int(9)})})

	// Create.
	if _, _, err := s.CreateColumn(ctx, 1, "no-such-dataset", store.ColumnSpec{Name: "c"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("create column in a missing dataset: %v", err)
	}
	c, created, err := s.CreateColumn(ctx, 1, "COLS", store.ColumnSpec{Name: "c", Type: event.TypeInt, Description: "the c", Hidden: true})
	if err != nil || !created || c.ID == "" || c.Name != "c" || c.Type != event.TypeInt || c.Description != "the c" || !c.Hidden || c.CreatedAt.IsZero() || !c.LastWritten.IsZero() {
		t.Fatalf("create column: %+v %v %v", c, created, err)
	}
	again, created, err := s.CreateColumn(ctx, 1, "cols", store.ColumnSpec{Name: "c", Type: event.TypeString})
	if err != nil || created || again.ID != c.ID || again.Type != event.TypeInt || again.Description != "the c" {
		t.Fatalf("create an existing column: %+v %v %v", again, created, err)
	}
	a, _ := columnByName(t, s, 1, "cols", "a")
	if existing, created, err := s.CreateColumn(ctx, 1, "cols", store.ColumnSpec{Name: "a", Type: event.TypeInt}); err != nil || created || existing.ID != a.ID || existing.Type != event.TypeString {
		t.Fatalf("create a column that has values: %+v %v %v", existing, created, err)
	}
	d, _, _ := s.CreateColumn(ctx, 1, "cols", store.ColumnSpec{Name: "d"})
	if got, ok := columnByName(t, s, 1, "cols", "d"); !ok || got.Type != event.TypeString || got.ID == c.ID {
		t.Fatalf("untyped column: %+v %v (created %+v)", got, ok, d)
	}
	if ds, _ := s.Dataset(ctx, 1, "cols"); ds.Columns != 4 {
		t.Fatalf("dataset has %d columns, want 4", ds.Columns)
	}
	// Nothing reads a created column until values arrive.
	if n := countWhere(t, s, 1, "cols", from, to, query.Filter{Column: "c", Op: query.OpExists}); n != 0 {
		t.Fatalf("%v events have the new column", n)
	}
	write(t, s, 1, []event.Event{ev(t0.Add(time.Minute), event.Field{Key: "c", Value: event.Int(7)})})
	if got, _ := columnByName(t, s, 1, "cols", "c"); got.ID != c.ID || got.Type != event.TypeInt || got.LastWritten.IsZero() || got.Description != "the c" {
		t.Fatalf("created column after a write: %+v", got)
	}
	r := execute(t, s, 1, &query.Plan{Datasets: []string{"cols"}, Start: from, End: to,
		Aggregates: []query.Aggregate{{Op: query.AggSum, Column: "c"}}})
	if v := r.Groups[0].Values[0]; v.Null || v.Number != 7 {
		t.Fatalf("sum of the created column: %+v", v)
	}
	// A value of another type widens the declared type as usual.
	write(t, s, 1, []event.Event{ev(t0.Add(2*time.Minute), event.Field{Key: "c", Value: event.Float(0.5)})})
	if got, _ := columnByName(t, s, 1, "cols", "c"); got.Type != event.TypeFloat {
		t.Fatalf("created int column after a float: %+v", got)
	}

	// Delete.
	b, _ := columnByName(t, s, 1, "cols", "b")
	if err := s.DeleteColumn(ctx, 1, "cols", "zz"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete a missing column: %v", err)
	}
	if err := s.DeleteColumn(ctx, 1, "nope", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete a column of a missing dataset: %v", err)
	}
	if err := s.DeleteColumn(ctx, 1, "Cols", "b"); err != nil {
		t.Fatalf("delete column: %v", err)
	}
	if _, ok := columnByName(t, s, 1, "cols", "b"); ok {
		t.Fatalf("deleted column still listed")
	}
	if ds, _ := s.Dataset(ctx, 1, "cols"); ds.Columns != 3 {
		t.Fatalf("dataset has %d columns after delete, want 3", ds.Columns)
	}
	if err := s.DeleteColumn(ctx, 1, "cols", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	// Its values are gone from every day; other columns and events stay.
	raw := execute(t, s, 1, &query.Plan{Datasets: []string{"cols"}, Start: from, End: to})
	if len(raw.Events) != 5 {
		t.Fatalf("%d events after deleting a column, want 5", len(raw.Events))
	}
	as := 0
	for _, e := range raw.Events {
		for _, f := range e.Fields {
			if f.Key == "b" {
				t.Fatalf("event %v still has b", e)
			}
			if f.Key == "a" {
				as++
			}
		}
	}
	if as != 2 {
		t.Fatalf("%d events have a, want 2", as)
	}
	if n := countWhere(t, s, 1, "cols", from, to, query.Filter{Column: "b", Op: query.OpExists}); n != 0 {
		t.Fatalf("%v events have the deleted column", n)
	}
	// The other environment's column is untouched.
	if n := countWhere(t, s, 2, "cols", from, to, query.Filter{Column: "b", Op: query.OpEq, Value: event.Int(9)}); n != 1 {
		t.Fatalf("other environment's column: %v events, want 1", n)
	}
	// Writing the name again makes a new column, without the old values.
	write(t, s, 1, []event.Event{ev(t0.Add(3*time.Minute), event.Field{Key: "b", Value: event.Bool(true)}, event.Field{Key: "a", Value: event.String("z")})})
	nb, ok := columnByName(t, s, 1, "cols", "b")
	if !ok || nb.ID == b.ID || nb.Type != event.TypeBool {
		t.Fatalf("column written again after delete: %+v %v (old %+v)", nb, ok, b)
	}
	if n := countWhere(t, s, 1, "cols", from, to, query.Filter{Column: "b", Op: query.OpExists}); n != 1 {
		t.Fatalf("%v events have the new b, want 1", n)
	}
	if n := countWhere(t, s, 1, "cols", from, to, query.Filter{Column: "a", Op: query.OpExists}); n != 3 {
		t.Fatalf("%v events have a, want 3", n)
	}
	// A created column can be deleted before it has values, and one of
	// another dataset is not found.
	if err := s.DeleteColumn(ctx, 1, "cols", "d"); err != nil {
		t.Fatalf("delete a column without values: %v", err)
	}
	if err := s.DeleteColumn(ctx, 1, "other", "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete from a missing dataset: %v", err)
	}
}

// testTooManyColumns fills a dataset to store.MaxColumns.
func testTooManyColumns(t *testing.T, open Opener) {
	if testing.Short() {
		t.Skip("writes store.MaxColumns columns")
	}
	s := mustOpen(t, open)
	ctx := context.Background()
	t0 := base()
	// Batches of 500 new columns, each in one event of another day, so that
	// no one day table is very wide (the test is about the catalog).
	for lo := 0; lo < store.MaxColumns-1; lo += 500 {
		e := event.Event{Time: t0.Add(-time.Duration(lo/500) * 24 * time.Hour), Dataset: "wide", SampleRate: 1}
		for i := lo; i < min(lo+500, store.MaxColumns-1); i++ {
			e.Fields = append(e.Fields, event.Field{Key: fmt.Sprintf("c%05d", i), Value: event.Int(int64(i))})
		}
		write(t, s, 1, []event.Event{e})
	}
	// Two new columns where one fits: the whole batch is refused.
	over := event.Event{Time: t0, Dataset: "wide", SampleRate: 1, Fields: []event.Field{
		{Key: "c00001", Value: event.Int(1)}, {Key: "new1", Value: event.Int(1)}, {Key: "new2", Value: event.Int(1)}}}
	err := s.Write(ctx, event.Batch{Env: 1, Events: []event.Event{over}})
	if !errors.Is(err, store.ErrTooManyColumns) {
		t.Fatalf("write past MaxColumns: %v", err)
	}
	if ds, _ := s.Dataset(ctx, 1, "wide"); ds.Columns != store.MaxColumns-1 {
		t.Fatalf("refused write left %d columns, want %d", ds.Columns, store.MaxColumns-1)
	}
	// Existing columns still take values; the last free column is usable.
	write(t, s, 1, []event.Event{{Time: t0, Dataset: "wide", SampleRate: 1, Fields: []event.Field{
		{Key: "c00002", Value: event.Int(1)}, {Key: "last", Value: event.Int(1)}}}})
	if _, _, err := s.CreateColumn(ctx, 1, "wide", store.ColumnSpec{Name: "one-more"}); !errors.Is(err, store.ErrTooManyColumns) {
		t.Fatalf("create column past MaxColumns: %v", err)
	}
	if _, created, err := s.CreateColumn(ctx, 1, "wide", store.ColumnSpec{Name: "last"}); err != nil || created {
		t.Fatalf("create an existing column of a full dataset: %v %v", created, err)
	}
	// Deleting a column makes room again.
	if err := s.DeleteColumn(ctx, 1, "wide", "c00003"); err != nil {
		t.Fatal(err)
	}
	if _, created, err := s.CreateColumn(ctx, 1, "wide", store.ColumnSpec{Name: "one-more"}); err != nil || !created {
		t.Fatalf("create column after a delete: %v %v", created, err)
	}
	// Other datasets are not affected.
	write(t, s, 1, []event.Event{{Time: t0, Dataset: "narrow", SampleRate: 1, Fields: []event.Field{{Key: "x", Value: event.Int(1)}}}})
	r := execute(t, s, 1, &query.Plan{Datasets: []string{"wide"}, Start: t0.Add(-20 * 24 * time.Hour), End: t0.Add(time.Second),
		Aggregates: []query.Aggregate{{Op: query.AggCount}, {Op: query.AggSum, Column: "c09998"}, {Op: query.AggSum, Column: "c00002"}}})
	if v := r.Groups[0].Values; v[0].Number != 21 || v[1].Number != 9998 || v[2].Number != 3 {
		t.Fatalf("wide dataset count and sum: %+v", r.Groups[0].Values)
	}
}
