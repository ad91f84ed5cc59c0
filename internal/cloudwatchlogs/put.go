package cloudwatchlogs

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/ingest"
)

// PutLogEvents limits (CloudWatch Logs quotas as the API model documents
// them).
const (
	MaxBatchEvents   = 10000
	MaxBatchBytes    = 1048576
	EventOverhead    = 26
	MaxEventBytes    = MaxBatchBytes - EventOverhead
	MaxBatchSpan     = 24 * time.Hour
	TooNewAfter      = 2 * time.Hour
	TooOldBefore     = 14 * 24 * time.Hour
	maxTimestampMs   = 1<<53 - 1
	putDecodeEntries = 64
)

type inputLogEvent struct {
	Timestamp *int64  `json:"timestamp"`
	Message   *string `json:"message"`
}

type putLogEventsInput struct {
	LogGroupName  *string         `json:"logGroupName"`
	LogStreamName *string         `json:"logStreamName"`
	LogEvents     []inputLogEvent `json:"logEvents"`
	SequenceToken *string         `json:"sequenceToken"`
	Entity        json.RawMessage `json:"entity"`
}

type rejectedInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

type putLogEventsOutput struct {
	NextSequenceToken string `json:"nextSequenceToken"`
	// Omitted unless something was rejected: watchtower warns whenever the
	// key is present.
	RejectedLogEventsInfo *rejectedInfo `json:"rejectedLogEventsInfo,omitempty"`
}

func (a *API) putLogEvents(c *call) (any, *apiError) {
	var in putLogEventsInput
	leave, err := a.Pipeline.DecodeGate().Enter(c.ctx)
	if err != nil {
		return nil, errInternal()
	}
	e := decode(c, &in)
	leave()
	if e != nil {
		return nil, e
	}
	if e := checkGroupName("logGroupName", in.LogGroupName, true); e != nil {
		return nil, e
	}
	if e := checkStreamName("logStreamName", in.LogStreamName, true); e != nil {
		return nil, e
	}
	if in.LogEvents == nil {
		return nil, nullMember("logEvents")
	}
	n := len(in.LogEvents)
	if n == 0 {
		return nil, invalidParam("1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	if n > MaxBatchEvents {
		return nil, invalidParam("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to %d", MaxBatchEvents)
	}
	size := 0
	for i := range in.LogEvents {
		ev := &in.LogEvents[i]
		if ev.Timestamp == nil {
			return nil, nullMember(fmt.Sprintf("logEvents.%d.member.timestamp", i+1))
		}
		if ev.Message == nil {
			return nil, nullMember(fmt.Sprintf("logEvents.%d.member.message", i+1))
		}
		if *ev.Message == "" {
			return nil, invalidParam("1 validation error detected: Value '' at 'logEvents.%d.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1", i+1)
		}
		if *ev.Timestamp < 0 {
			return nil, invalidParam("1 validation error detected: Value '%d' at 'logEvents.%d.member.timestamp' failed to satisfy constraint: Member must have value greater than or equal to 0", *ev.Timestamp, i+1)
		}
		l := len(*ev.Message)
		if l > MaxEventBytes {
			return nil, invalidParam("Log event too large: %d bytes exceeds limit of %d", l+EventOverhead, MaxBatchBytes)
		}
		size += l + EventOverhead
		if i > 0 && *ev.Timestamp < *in.LogEvents[i-1].Timestamp {
			return nil, invalidParam("Log events in a single PutLogEvents request must be in chronological order.")
		}
	}
	if size > MaxBatchBytes {
		return nil, invalidParam("Upload too large: %d bytes exceeds limit of %d", size, MaxBatchBytes)
	}
	tgt, groupOK, streamOK, err := a.reg.streamFor(c.ctx, c.envID(), *in.LogGroupName, *in.LogStreamName)
	switch {
	case err != nil:
		return nil, a.internal(c, "put log events", err)
	case !groupOK:
		return nil, errGroupNotFound()
	case !streamOK:
		return nil, errStreamNotFound()
	}

	now := a.Now()
	nowMs := now.UnixMilli()
	tooOld := nowMs - TooOldBefore.Milliseconds()
	expired := int64(-1 << 62)
	if tgt.group.RetentionDays > 0 {
		expired = nowMs - int64(tgt.group.RetentionDays)*24*time.Hour.Milliseconds()
	}
	tooNew := nowMs + TooNewAfter.Milliseconds()
	// Events are in order: rejected old ones lead, rejected new ones trail.
	lo, hi := 0, n
	oldEnd, expEnd := 0, 0
	for lo < n && (*in.LogEvents[lo].Timestamp < tooOld || *in.LogEvents[lo].Timestamp < expired) {
		if *in.LogEvents[lo].Timestamp < tooOld {
			oldEnd = lo + 1
		} else {
			expEnd = lo + 1
		}
		lo++
	}
	for hi > lo && *in.LogEvents[hi-1].Timestamp > tooNew {
		hi--
	}
	var rej *rejectedInfo
	if oldEnd > 0 || expEnd > 0 || hi < n {
		rej = &rejectedInfo{}
		if oldEnd > 0 {
			rej.TooOldLogEventEndIndex = &oldEnd
		}
		if expEnd > 0 {
			rej.ExpiredLogEventEndIndex = &expEnd
		}
		if hi < n {
			rej.TooNewLogEventStartIndex = &hi
		}
	}
	if lo < hi && *in.LogEvents[hi-1].Timestamp-*in.LogEvents[lo].Timestamp > MaxBatchSpan.Milliseconds() {
		return nil, invalidParam("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	batch := a.nextBatch(now)
	out := &putLogEventsOutput{NextSequenceToken: sequenceToken(batch), RejectedLogEventsInfo: rej}
	if lo == hi {
		return out, nil
	}
	events := make([]event.Event, 0, hi-lo)
	var p fastjson.Parser
	for i := lo; i < hi; i++ {
		ev := &in.LogEvents[i]
		msg := *ev.Message
		if !utf8.ValidString(msg) {
			msg = string([]rune(msg))
		}
		events = append(events, lineEvent(tgt.group.Dataset, tgt.stream.Name, msg, *ev.Timestamp, nowMs, eventID(*ev.Timestamp, batch, i), &p))
	}
	in.LogEvents = nil
	if err := a.Pipeline.Submit(c.ctx, event.Batch{Env: c.envID(), Events: events}); err != nil {
		if errors.Is(err, ingest.ErrOverloaded) {
			return nil, errThrottled()
		}
		return nil, a.internal(c, "put log events: commit", err)
	}
	a.reg.recordWrite(c.envID(), tgt.group.Name, tgt.stream.Name, events[0].Time.UnixMilli(), events[len(events)-1].Time.UnixMilli(), nowMs)
	return out, nil
}

// nextBatch returns a new batch id: the clock in ns, or one more than the
// last id if the clock has not moved on.
func (a *API) nextBatch(now time.Time) int64 {
	t := now.UnixNano()
	for {
		last := a.batchSeq.Load()
		next := max(t, last+1)
		if a.batchSeq.CompareAndSwap(last, next) {
			return next
		}
	}
}

// Flush writes the streams' event-time statistics (DescribeLogStreams'
// firstEventTimestamp, lastEventTimestamp, lastIngestionTime) to the
// metadata database. The server calls it periodically and at shutdown.
func (a *API) Flush() error {
	return a.reg.flush(contextBackground())
}
