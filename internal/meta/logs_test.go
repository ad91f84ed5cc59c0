package meta

import (
	"context"
	"errors"
	"testing"
)

func TestLogGroupsAndStreams(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		db := b.open(t)
		g, err := db.CreateLogGroup(ctx, LogGroup{EnvID: 1, Name: "/aws/lambda/x", Dataset: "aws-lambda-x", CreatedMs: 5, Class: "STANDARD", Tags: "{}"})
		if err != nil || g.ID == 0 {
			t.Fatal(g, err)
		}
		if _, err := db.CreateLogGroup(ctx, LogGroup{EnvID: 1, Name: "/aws/lambda/x", Dataset: "d", Tags: "{}"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate group: %v", err)
		}
		if _, err := db.CreateLogGroup(ctx, LogGroup{EnvID: 2, Name: "/aws/lambda/x", Dataset: "d", Tags: "{}"}); err != nil {
			t.Fatalf("same name in another environment: %v", err)
		}
		g.RetentionDays, g.Tags = 7, `{"a":"b"}`
		if err := db.UpdateLogGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		got, err := db.LogGroup(ctx, 1, "/aws/lambda/x")
		if err != nil || got.RetentionDays != 7 || got.Tags != `{"a":"b"}` || got.CreatedMs != 5 {
			t.Fatal(got, err)
		}
		if _, err := db.LogGroup(ctx, 1, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		if err := db.CreateLogStream(ctx, LogStream{GroupID: g.ID, Name: "s1", CreatedMs: 9}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateLogStream(ctx, LogStream{GroupID: g.ID, Name: "s1", CreatedMs: 9}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate stream: %v", err)
		}
		if err := db.UpdateLogStreamTimes(ctx, []LogStream{{GroupID: g.ID, Name: "s1", FirstEventMs: 100, LastEventMs: 200, LastIngestionMs: 300},
			{GroupID: g.ID, Name: "s1", FirstEventMs: 50, LastEventMs: 150, LastIngestionMs: 250}, {GroupID: g.ID, Name: "gone", FirstEventMs: 1}}); err != nil {
			t.Fatal(err)
		}
		sts, err := db.LogStreams(ctx, g.ID)
		if err != nil || len(sts) != 1 || sts[0].FirstEventMs != 50 || sts[0].LastEventMs != 200 || sts[0].LastIngestionMs != 300 {
			t.Fatal(sts, err)
		}
		if err := db.DeleteLogStream(ctx, g.ID, "s1"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteLogStream(ctx, g.ID, "s1"); !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		if err := db.DeleteLogGroup(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		if gs, err := db.LogGroups(ctx, 1); err != nil || len(gs) != 0 {
			t.Fatal(gs, err)
		}
	})
}
