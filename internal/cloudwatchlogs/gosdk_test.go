package cloudwatchlogs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
)

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err == nil {
		return ""
	}
	return "?" + err.Error()
}

// TestGoSDK drives the real aws-sdk-go-v2 client through groups, streams,
// PutLogEvents, GetLogEvents paging both ways, FilterLogEvents, retention,
// tags and errors.
func TestGoSDK(t *testing.T) {
	e := newTestEnv(t)
	ctx := ctxT(t)
	c := e.goClient(testSecret)

	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("go-group"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Message: aws.String("x"), Timestamp: aws.Int64(time.Now().UnixMilli())}}}); apiCode(err) != "ResourceNotFoundException" {
		t.Fatalf("missing group: %v", err)
	}
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("go-group"), Tags: map[string]string{"team": "waggle"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("go-group")}); apiCode(err) != "ResourceAlreadyExistsException" {
		t.Fatalf("duplicate group: %v", err)
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("go-group"), LogStreamName: aws.String("s1"),
		LogEvents: []types.InputLogEvent{{Message: aws.String("x"), Timestamp: aws.Int64(time.Now().UnixMilli())}}}); apiCode(err) != "ResourceNotFoundException" || !strings.Contains(err.Error(), "The specified log stream does not exist.") {
		t.Fatalf("missing stream: %v", err)
	}
	for _, s := range []string{"s1", "s2"} {
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("go-group"), LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Now().Add(-time.Hour).UnixMilli()
	const n = 250
	for b := 0; b < 2; b++ {
		var evs []types.InputLogEvent
		for i := 0; i < n; i++ {
			k := b*n + i
			msg := fmt.Sprintf("line %d INFO ok", k)
			if k%10 == 0 {
				msg = fmt.Sprintf(`{"level":"ERROR","latency":%d,"n":%d}`, k, k)
			}
			evs = append(evs, types.InputLogEvent{Message: aws.String(msg), Timestamp: aws.Int64(base + int64(k)*10)})
		}
		out, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("go-group"), LogStreamName: aws.String("s1"), LogEvents: evs, SequenceToken: aws.String("whatever")})
		if err != nil {
			t.Fatal(err)
		}
		if out.RejectedLogEventsInfo != nil || out.NextSequenceToken == nil {
			t.Fatalf("%+v", out)
		}
	}
	// Forward paging with startFromHead, 70 at a time, until the token repeats.
	var got []string
	var tok *string
	pages := 0
	for {
		out, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("go-group"), LogStreamName: aws.String("s1"),
			StartFromHead: aws.Bool(true), Limit: aws.Int32(70), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, ev := range out.Events {
			got = append(got, *ev.Message)
		}
		if tok != nil && *out.NextForwardToken == *tok {
			if len(out.Events) != 0 {
				t.Fatal("events on the last page")
			}
			break
		}
		tok = out.NextForwardToken
		if pages > 20 {
			t.Fatal("no end")
		}
	}
	if len(got) != 2*n || got[1] != "line 1 INFO ok" || got[2*n-1] != fmt.Sprintf("line %d INFO ok", 2*n-1) {
		t.Fatalf("forward: %d events, pages %d", len(got), pages)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("duplicate at %d", i)
		}
	}
	// Backward from the end.
	got = got[:0]
	tok = nil
	for pages = 0; pages < 20; pages++ {
		out, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("go-group"), LogStreamName: aws.String("s1"), Limit: aws.Int32(128), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		var page []string
		for _, ev := range out.Events {
			page = append(page, *ev.Message)
		}
		got = append(page, got...)
		if tok != nil && *out.NextBackwardToken == *tok {
			break
		}
		tok = out.NextBackwardToken
	}
	if len(got) != 2*n || got[0] != `{"level":"ERROR","latency":0,"n":0}` {
		t.Fatalf("backward: %d events, first %q", len(got), got[0])
	}
	// FilterLogEvents: JSON pattern, paging by 7.
	count := 0
	p := cwl.NewFilterLogEventsPaginator(c, &cwl.FilterLogEventsInput{LogGroupName: aws.String("go-group"),
		FilterPattern: aws.String(`{ $.level = "ERROR" && $.latency > 100 }`), Limit: aws.Int32(7)})
	ids := map[string]bool{}
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range out.Events {
			if ids[*ev.EventId] || *ev.LogStreamName != "s1" || *ev.IngestionTime == 0 {
				t.Fatalf("bad event %+v", ev)
			}
			ids[*ev.EventId] = true
			count++
		}
	}
	if want := 2*n/10 - 11; count != want {
		t.Fatalf("JSON filter: %d events, want %d", count, want)
	}
	// Retention and tags.
	if _, err := c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("go-group"), RetentionInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	ds, err := e.store.Dataset(ctx, e.env.ID, "go-group")
	if err != nil || ds.Retention != 7*24*time.Hour {
		t.Fatalf("dataset retention %v %v", ds.Retention, err)
	}
	dg, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("go-")})
	if err != nil || len(dg.LogGroups) != 1 || *dg.LogGroups[0].RetentionInDays != 7 || !strings.HasSuffix(*dg.LogGroups[0].Arn, ":log-group:go-group:*") {
		t.Fatalf("%+v %v", dg, err)
	}
	arn := *dg.LogGroups[0].LogGroupArn
	if _, err := c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"env": "dev"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 2 || tags.Tags["team"] != "waggle" || tags.Tags["env"] != "dev" {
		t.Fatalf("%+v %v", tags, err)
	}
	ls, err := c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("go-group")})
	if err != nil || len(ls.LogStreams) != 2 || *ls.LogStreams[0].LogStreamName != "s1" || *ls.LogStreams[0].LastEventTimestamp != base+int64(2*n-1)*10 {
		t.Fatalf("%+v %v", ls, err)
	}
	// Wrong secret.
	if _, err := e.goClient("wrong").DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}); apiCode(err) != "InvalidSignatureException" {
		t.Fatalf("wrong secret: %v", err)
	}
}
