package meta

import (
	"context"
	"errors"
	"testing"
)

func TestDerivedColumns(t *testing.T) {
	eachBackend(t, testDerivedColumns)
}

func testDerivedColumns(t *testing.T, b *backend) {
	ctx := context.Background()
	db := b.open(t)
	d, err := db.CreateDerivedColumn(ctx, DerivedColumn{EnvID: 1, ID: "a", Dataset: "ds", Alias: "ok", Expression: "LT($x, 1)"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateDerivedColumn(ctx, DerivedColumn{EnvID: 1, ID: "b", Dataset: "ds", Alias: "ok", Expression: "1"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate alias: %v", err)
	}
	if _, err := db.CreateDerivedColumn(ctx, DerivedColumn{EnvID: 1, ID: "b", Dataset: "__all__", Alias: "ok", Expression: "1"}); err != nil {
		t.Fatal(err)
	}
	d.Expression = "GT($x, 1)"
	if d, err = db.UpdateDerivedColumn(ctx, d); err != nil || d.Expression != "GT($x, 1)" {
		t.Fatalf("update: %v %+v", err, d)
	}
	if l, err := db.DerivedColumns(ctx, 1, "ds"); err != nil || len(l) != 1 {
		t.Fatalf("list: %v %d", err, len(l))
	}
	if err := db.DeleteDerivedColumn(ctx, 1, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DerivedColumn(ctx, 1, "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := db.SetBurnAlertState(ctx, BurnAlertState{EnvID: 1, AlertID: "x", Triggered: true, Value: 3}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetBurnAlertState(ctx, BurnAlertState{EnvID: 1, AlertID: "x", Triggered: false, Value: 4}); err != nil {
		t.Fatal(err)
	}
	if s, err := db.BurnAlertState(ctx, 1, "x"); err != nil || s.Triggered || s.Value != 4 {
		t.Fatalf("state: %v %+v", err, s)
	}
}
