package cloudwatchlogs

import (
	"context"
	"encoding/base64"
	"sort"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
)

// maxResponseBytes bounds the messages of one GetLogEvents page (AWS: 1 MB).
const maxResponseBytes = 1 << 20

// GetLogEvents tokens are "f/" or "b/" and 56 digits (AWS's shape): the
// cursor, an event id, zero-padded. f/X reads events after X, b/X events
// before X. At either end of the stream the token passed in comes back.
func pageToken(dir byte, cursor string) string {
	return string(dir) + "/" + strings.Repeat("0", 56-len(cursor)) + cursor
}

func parsePageToken(tok string) (dir byte, cursor string, ok bool) {
	if len(tok) != 58 || (tok[0] != 'f' && tok[0] != 'b') || tok[1] != '/' {
		return 0, "", false
	}
	digits := tok[2:]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, "", false
		}
	}
	if strings.TrimLeft(digits[:56-eventIDLen], "0") != "" {
		return 0, "", false
	}
	return tok[0], digits[56-eventIDLen:], true
}

// incCursor / decCursor step a cursor by one in the last digit (with carry).
func incCursor(c string) string {
	b := []byte(c)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return strings.Repeat("9", len(c))
}

func decCursor(c string) string {
	b := []byte(c)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] > '0' {
			b[i]--
			return string(b)
		}
		b[i] = '9'
	}
	return strings.Repeat("0", len(c))
}

type getLogEventsInput struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	LogStreamName      *string `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int    `json:"limit"`
	StartFromHead      *bool   `json:"startFromHead"`
	Unmask             *bool   `json:"unmask"`
}

type outputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

// timeRange turns startTime (inclusive) and endTime (exclusive) into
// bounds; the defaults cover everything a stream can hold.
func (a *API) timeRange(start, end *int64) (int64, int64) {
	lo, hi := int64(0), a.Now().UnixMilli()+TooNewAfter.Milliseconds()+time.Minute.Milliseconds()
	if start != nil && *start > 0 {
		lo = *start
	}
	if end != nil && *end > 0 {
		hi = *end
	}
	return lo, hi
}

func (a *API) getLogEvents(c *call) (any, *apiError) {
	var in getLogEventsInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	name, e := groupFromIdentifier(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	if e := checkStreamName("logStreamName", in.LogStreamName, true); e != nil {
		return nil, e
	}
	limit, e := checkLimit(in.Limit, 10000)
	if e != nil {
		return nil, e
	}
	g, err := a.reg.group(c.ctx, c.envID(), name)
	if err != nil {
		return nil, a.internal(c, "get log events", err)
	}
	if g == nil {
		return nil, errGroupNotFound()
	}
	var st *meta.LogStream
	for i := range g.Streams {
		if g.Streams[i].Name == *in.LogStreamName {
			st = &g.Streams[i]
		}
	}
	if st == nil {
		return nil, errStreamNotFound()
	}
	forward := in.StartFromHead != nil && *in.StartFromHead
	var cursor string
	if in.NextToken != nil {
		dir, cur, ok := parsePageToken(*in.NextToken)
		if !ok {
			return nil, errBadToken()
		}
		forward, cursor = dir == 'f', cur
	}
	lo, hi := a.timeRange(in.StartTime, in.EndTime)
	sc := &scan{a: a, env: c.envID(), dataset: g.Dataset, startMs: lo, endMs: hi, filters: []query.Filter{
		{Column: FieldLogStream, Op: query.OpEq, Value: event.String(st.Name)},
		{Column: FieldIngestionTime, Op: query.OpGe, Value: event.Int(st.CreatedMs)},
	}}
	var evs []logEvent
	if forward {
		evs, _, _, err = sc.ascend(c.ctx, cursor, limit)
	} else {
		evs, _, err = sc.descendExact(c.ctx, cursor, limit)
		sortAsc(evs)
	}
	if err != nil {
		return nil, a.internal(c, "get log events", err)
	}
	// At most 1 MB of messages, cut at the far end from the cursor.
	size := 0
	for i, ev := range evs {
		size += len(ev.Message) + EventOverhead
		if size > maxResponseBytes && i > 0 {
			if forward {
				evs = evs[:i]
			} else {
				evs = evs[len(evs)-i:]
			}
			break
		}
	}
	out := struct {
		Events            []outputLogEvent `json:"events"`
		NextForwardToken  string           `json:"nextForwardToken"`
		NextBackwardToken string           `json:"nextBackwardToken"`
	}{Events: make([]outputLogEvent, 0, len(evs))}
	for _, ev := range evs {
		out.Events = append(out.Events, outputLogEvent{Timestamp: ev.Timestamp, Message: ev.Message, IngestionTime: ev.Ingestion})
	}
	switch {
	case len(evs) > 0:
		out.NextForwardToken = pageToken('f', evs[len(evs)-1].ID)
		out.NextBackwardToken = pageToken('b', evs[0].ID)
	case in.NextToken != nil && forward:
		out.NextForwardToken = *in.NextToken
		out.NextBackwardToken = pageToken('b', incCursor(cursor))
	case in.NextToken != nil:
		out.NextBackwardToken = *in.NextToken
		out.NextForwardToken = pageToken('f', decCursor(cursor))
	default:
		zero := strings.Repeat("0", eventIDLen)
		out.NextForwardToken = pageToken('f', zero)
		out.NextBackwardToken = pageToken('b', zero)
	}
	return out, nil
}

// descendExact is descend made exact at the page's oldest timestamp: a
// limited read may cut that timestamp's events anywhere, so they are read
// whole and the newest want kept.
func (s *scan) descendExact(ctx context.Context, before string, want int) ([]logEvent, bool, error) {
	evs, done, err := s.descend(ctx, before, want)
	if err != nil || done || len(evs) == 0 {
		return evs, done, err
	}
	oldest := evs[len(evs)-1].Timestamp
	if oldest < s.startMs {
		return evs, done, nil
	}
	p := s.plan(oldest, oldest+1, beforeFilter(before)...)
	same, err := s.raw(ctx, p)
	if err != nil {
		return nil, false, err
	}
	keep := evs[:0]
	for _, ev := range evs {
		if ev.Timestamp != oldest {
			keep = append(keep, ev)
		}
	}
	keep = append(keep, same...)
	sort.Slice(keep, func(i, j int) bool { return keep[i].ID > keep[j].ID })
	if len(keep) > want {
		keep = keep[:want]
	}
	return keep, false, nil
}

type filterLogEventsInput struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int     `json:"limit"`
	StartFromHead       *bool    `json:"startFromHead"`
	Interleaved         *bool    `json:"interleaved"`
	Unmask              *bool    `json:"unmask"`
}

type filteredLogEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type searchedLogStream struct {
	LogStreamName      string `json:"logStreamName"`
	SearchedCompletely bool   `json:"searchedCompletely"`
}

// FilterLogEvents tokens: "a/" (ascending) or "d/" (descending) and the
// base64 of the cursor: everything up to it has been looked at. The cursor
// moves on with every page, so a token never repeats.
func filterToken(desc bool, cursor string) string {
	p := "a/"
	if desc {
		p = "d/"
	}
	return p + base64.RawURLEncoding.EncodeToString([]byte(cursor))
}

func parseFilterToken(tok string) (desc bool, cursor string, ok bool) {
	if len(tok) < 3 || tok[1] != '/' || (tok[0] != 'a' && tok[0] != 'd') {
		return false, "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(tok[2:])
	if err != nil || !validCursor(string(b)) {
		return false, "", false
	}
	return tok[0] == 'd', string(b), true
}

// filterBudget bounds the work of one FilterLogEvents call: when it is spent
// the page is returned, possibly partial or empty, with a nextToken.
const (
	filterMaxRounds = 8
	filterMaxTime   = 3 * time.Second
)

func (a *API) filterLogEvents(c *call) (any, *apiError) {
	var in filterLogEventsInput
	if e := decode(c, &in); e != nil {
		return nil, e
	}
	name, e := groupFromIdentifier(in.LogGroupName, in.LogGroupIdentifier)
	if e != nil {
		return nil, e
	}
	if in.LogStreamNames != nil && in.LogStreamNamePrefix != nil {
		return nil, invalidParam("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	if in.LogStreamNames != nil && (len(in.LogStreamNames) == 0 || len(in.LogStreamNames) > 100) {
		return nil, invalidParam("1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length between 1 and 100")
	}
	for i := range in.LogStreamNames {
		if e := checkStreamName("logStreamNames", &in.LogStreamNames[i], true); e != nil {
			return nil, e
		}
	}
	if e := checkStreamName("logStreamNamePrefix", in.LogStreamNamePrefix, false); e != nil {
		return nil, e
	}
	limit, e := checkLimit(in.Limit, 10000)
	if e != nil {
		return nil, e
	}
	pat := &Pattern{}
	if in.FilterPattern != nil {
		var err error
		if pat, err = CompilePattern(*in.FilterPattern); err != nil {
			return nil, invalidParam("Invalid filter pattern: %s", err.Error())
		}
	}
	desc := in.StartFromHead != nil && !*in.StartFromHead
	var cursor string
	if in.NextToken != nil {
		d, cur, ok := parseFilterToken(*in.NextToken)
		if !ok || d != desc {
			return nil, errBadToken()
		}
		cursor = cur
	}
	g, err := a.reg.group(c.ctx, c.envID(), name)
	if err != nil {
		return nil, a.internal(c, "filter log events", err)
	}
	if g == nil {
		return nil, errGroupNotFound()
	}
	created := make(map[string]int64, len(g.Streams))
	for _, st := range g.Streams {
		created[st.Name] = st.CreatedMs
	}
	lo, hi := a.timeRange(in.StartTime, in.EndTime)
	sc := &scan{a: a, env: c.envID(), dataset: g.Dataset, startMs: lo, endMs: hi}
	switch {
	case in.LogStreamNames != nil:
		vals := make([]event.Value, len(in.LogStreamNames))
		for i, n := range in.LogStreamNames {
			vals[i] = event.String(n)
		}
		sc.filters = append(sc.filters, query.Filter{Column: FieldLogStream, Op: query.OpIn, Values: vals})
	case in.LogStreamNamePrefix != nil:
		sc.filters = append(sc.filters, query.Filter{Column: FieldLogStream, Op: query.OpStartsWith, Value: event.String(*in.LogStreamNamePrefix)})
	}
	sc.filters = append(sc.filters, pat.Pushdown()...)
	visible := func(ev *logEvent) bool {
		cr, ok := created[ev.Stream]
		return ok && ev.Ingestion >= cr && pat.Match(ev.Message)
	}

	out := struct {
		Events             []filteredLogEvent  `json:"events"`
		SearchedLogStreams []searchedLogStream `json:"searchedLogStreams"`
		NextToken          string              `json:"nextToken,omitempty"`
	}{Events: []filteredLogEvent{}, SearchedLogStreams: []searchedLogStream{}}
	began := time.Now()
	done := false
	for round := 0; round < filterMaxRounds && len(out.Events) < limit && !done; round++ {
		if round > 0 && time.Since(began) > filterMaxTime {
			break
		}
		need := limit - len(out.Events)
		var evs []logEvent
		var scanned string
		if desc {
			evs, done, err = sc.descendExact(c.ctx, cursor, need)
			if len(evs) > 0 {
				scanned = evs[len(evs)-1].ID
			} else {
				scanned = minCursor(lo)
			}
		} else {
			evs, scanned, done, err = sc.ascend(c.ctx, cursor, need)
		}
		if err != nil {
			return nil, a.internal(c, "filter log events", err)
		}
		for i := range evs {
			ev := &evs[i]
			if !visible(ev) {
				continue
			}
			out.Events = append(out.Events, filteredLogEvent{
				LogStreamName: ev.Stream, Timestamp: ev.Timestamp, Message: ev.Message,
				IngestionTime: ev.Ingestion, EventID: ev.ID,
			})
		}
		if scanned != "" {
			cursor = scanned
		}
	}
	if !done {
		out.NextToken = filterToken(desc, cursor)
	}
	return out, nil
}
