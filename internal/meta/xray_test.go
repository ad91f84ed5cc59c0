package meta

import (
	"context"
	"errors"
	"testing"
)

func TestXRayGroupsAndRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db := b.open(t)
		g := XRayGroup{Env: 1, Name: "backend-flask", ARNSuffix: "abc", FilterExpression: `service("backend-flask")`, Tags: "[]", CreatedAt: 1.5, UpdatedAt: 1.5}
		if err := db.CreateXRayGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateXRayGroup(ctx, g); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate: %v", err)
		}
		g.FilterExpression, g.UpdatedAt = `service("Cruddur")`, 2
		if err := db.UpdateXRayGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		got, err := db.XRayGroup(ctx, 1, "backend-flask")
		if err != nil || got.FilterExpression != `service("Cruddur")` || got.CreatedAt != 1.5 {
			t.Fatal(got, err)
		}
		if gs, err := db.XRayGroups(ctx, 1); err != nil || len(gs) != 1 {
			t.Fatal(gs, err)
		}
		if err := db.DeleteXRayGroup(ctx, 1, "backend-flask"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.XRayGroup(ctx, 1, "backend-flask"); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		r := XRaySamplingRule{Env: 1, Name: "api", ResourceARN: "*", Priority: 5, FixedRate: 0.5, ReservoirSize: 3, ServiceName: "*",
			ServiceType: "*", Host: "*", HTTPMethod: "GET", URLPath: "/api/*", Version: 1, Attributes: "{}", CreatedAt: 1, ModifiedAt: 1}
		if err := db.CreateXRaySamplingRule(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateXRaySamplingRule(ctx, r); !errors.Is(err, ErrConflict) {
			t.Fatal(err)
		}
		r.FixedRate, r.ModifiedAt = 0.25, 3
		if err := db.UpdateXRaySamplingRule(ctx, r); err != nil {
			t.Fatal(err)
		}
		rs, err := db.XRaySamplingRules(ctx, 1)
		if err != nil || len(rs) != 1 || rs[0].FixedRate != 0.25 || rs[0].ModifiedAt != 3 || rs[0].URLPath != "/api/*" {
			t.Fatal(rs, err)
		}
		if err := db.DeleteXRaySamplingRule(ctx, 1, "api"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteXRaySamplingRule(ctx, 1, "api"); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
	})
}
