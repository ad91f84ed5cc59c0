package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"go.opentelemetry.io/otel/trace"
)

// LogsAPI is the part of the CloudWatch Logs client the handler uses.
type LogsAPI interface {
	DescribeLogGroups(context.Context, *cwl.DescribeLogGroupsInput, ...func(*cwl.Options)) (*cwl.DescribeLogGroupsOutput, error)
	CreateLogGroup(context.Context, *cwl.CreateLogGroupInput, ...func(*cwl.Options)) (*cwl.CreateLogGroupOutput, error)
	CreateLogStream(context.Context, *cwl.CreateLogStreamInput, ...func(*cwl.Options)) (*cwl.CreateLogStreamOutput, error)
	PutLogEvents(context.Context, *cwl.PutLogEventsInput, ...func(*cwl.Options)) (*cwl.PutLogEventsOutput, error)
}

// CloudWatchOptions are the batching knobs, watchtower's names.
type CloudWatchOptions struct {
	LogGroup      string        // log_group_name ("cruddur")
	LogStream     string        // log_stream_name
	SendInterval  time.Duration // send_interval: flush at least this often (watchtower: 60 s)
	MaxBatchCount int           // max_batch_count: flush when this many lines wait (AWS's limit is 10,000)
	Level         slog.Leveler
}

// CloudWatchHandler is a log/slog handler that ships every record as a JSON
// line to CloudWatch Logs the way watchtower's CloudWatchLogHandler does:
// lines queue in memory and a background goroutine sends them with
// PutLogEvents every SendInterval or MaxBatchCount lines; the log group
// (DescribeLogGroups, CreateLogGroup) and stream (CreateLogStream) are created
// on demand, when PutLogEvents answers ResourceNotFoundException. Each line
// carries the request's trace id (trace_id, W3C hex, from the OTel span in
// the record's context), which waggle turns into trace.trace_id.
type CloudWatchHandler struct {
	core *cwCore
	json slog.Handler // formats one line; writes into the record's buffer
	buf  *lineBuffer
}

type cwCore struct {
	api  LogsAPI
	opt  CloudWatchOptions
	mu   sync.Mutex
	q    []types.InputLogEvent
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	errw io.Writer // where send failures are reported (stderr)

	groupReady bool
}

// lineBuffer lets a shared JSON handler write one record at a time.
type lineBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lineBuffer) Write(p []byte) (int, error) { return l.b.Write(p) }

// NewCloudWatchHandler starts the sender. Close flushes and stops it.
func NewCloudWatchHandler(api LogsAPI, opt CloudWatchOptions, errw io.Writer) *CloudWatchHandler {
	if opt.SendInterval <= 0 {
		opt.SendInterval = 60 * time.Second
	}
	if opt.MaxBatchCount <= 0 || opt.MaxBatchCount > 10000 {
		opt.MaxBatchCount = 10000
	}
	c := &cwCore{api: api, opt: opt, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), errw: errw}
	go c.loop()
	buf := &lineBuffer{}
	return &CloudWatchHandler{core: c, buf: buf, json: slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: opt.Level})}
}

func (h *CloudWatchHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.json.Enabled(ctx, l)
}

func (h *CloudWatchHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	h.buf.mu.Lock()
	h.buf.b.Reset()
	err := h.json.Handle(ctx, r)
	line := string(bytes.TrimRight(h.buf.b.Bytes(), "\n"))
	h.buf.mu.Unlock()
	if err != nil {
		return err
	}
	ts := r.Time
	if ts.IsZero() {
		ts = time.Now()
	}
	h.core.enqueue(types.InputLogEvent{Message: aws.String(line), Timestamp: aws.Int64(ts.UnixMilli())})
	return nil
}

func (h *CloudWatchHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &CloudWatchHandler{core: h.core, buf: h.buf, json: h.json.WithAttrs(as)}
}

func (h *CloudWatchHandler) WithGroup(name string) slog.Handler {
	return &CloudWatchHandler{core: h.core, buf: h.buf, json: h.json.WithGroup(name)}
}

// Flush sends what is queued now.
func (h *CloudWatchHandler) Flush(ctx context.Context) error { return h.core.flush(ctx) }

// Close flushes and stops the sender.
func (h *CloudWatchHandler) Close(ctx context.Context) error {
	select {
	case <-h.core.stop:
	default:
		close(h.core.stop)
	}
	<-h.core.done
	return h.core.flush(ctx)
}

func (c *cwCore) enqueue(e types.InputLogEvent) {
	c.mu.Lock()
	c.q = append(c.q, e)
	n := len(c.q)
	c.mu.Unlock()
	if n >= c.opt.MaxBatchCount {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

func (c *cwCore) loop() {
	defer close(c.done)
	t := time.NewTicker(c.opt.SendInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		case <-c.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := c.flush(ctx); err != nil {
			fmt.Fprintln(c.errw, "cloudwatch logs:", err)
		}
		cancel()
	}
}

// flush sends the queue in batches within PutLogEvents' limits: at most
// MaxBatchCount events, 1 MiB counting 26 bytes per event, in time order.
func (c *cwCore) flush(ctx context.Context) error {
	c.mu.Lock()
	q := c.q
	c.q = nil
	c.mu.Unlock()
	if len(q) == 0 {
		return nil
	}
	sort.SliceStable(q, func(i, j int) bool { return *q[i].Timestamp < *q[j].Timestamp })
	var errs []error
	for len(q) > 0 {
		n, size := 0, 0
		for n < len(q) && n < c.opt.MaxBatchCount {
			s := len(*q[n].Message) + 26
			if size+s > 1<<20 {
				break
			}
			size += s
			n++
		}
		if n == 0 { // a line over 1 MiB: drop it, as AWS would refuse it
			q = q[1:]
			continue
		}
		if err := c.put(ctx, q[:n]); err != nil {
			errs = append(errs, err)
		}
		q = q[n:]
	}
	return errors.Join(errs...)
}

func (c *cwCore) put(ctx context.Context, evs []types.InputLogEvent) error {
	in := &cwl.PutLogEventsInput{LogGroupName: aws.String(c.opt.LogGroup), LogStreamName: aws.String(c.opt.LogStream), LogEvents: evs}
	_, err := c.api.PutLogEvents(ctx, in)
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		return err
	}
	// The group or the stream is missing: create them (watchtower's
	// _ensure_log_group, then create_log_stream) and send again.
	if err := c.ensureGroup(ctx); err != nil {
		return err
	}
	if _, err := c.api.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(c.opt.LogGroup), LogStreamName: aws.String(c.opt.LogStream)}); err != nil {
		var exists *types.ResourceAlreadyExistsException
		if !errors.As(err, &exists) {
			return err
		}
	}
	_, err = c.api.PutLogEvents(ctx, in)
	return err
}

func (c *cwCore) ensureGroup(ctx context.Context) error {
	if c.groupReady {
		return nil
	}
	out, err := c.api.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(c.opt.LogGroup)})
	if err != nil {
		return err
	}
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == c.opt.LogGroup {
			c.groupReady = true
			return nil
		}
	}
	if _, err := c.api.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(c.opt.LogGroup)}); err != nil {
		var exists *types.ResourceAlreadyExistsException
		if !errors.As(err, &exists) {
			return err
		}
	}
	c.groupReady = true
	return nil
}

// fanout sends each record to several handlers (console and CloudWatch, as
// the seed's LOGGER has a StreamHandler and a CloudWatchLogHandler).
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(as []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(as)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}
