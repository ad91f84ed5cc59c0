// Package ingest is the path every protocol shares from a decoded request to
// durable storage: requests are merged into group commits, a request is
// acknowledged only once its events are durable, and a memory budget bounds
// what is decoded and queued. When the budget is spent, producers get
// ErrOverloaded at once and answer 429/503 with Retry-After.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// ErrOverloaded means the pipeline's memory budget is spent; the client should
// retry after RetryAfter.
var ErrOverloaded = errors.New("ingest pipeline is full")

// ErrClosed means the pipeline is shutting down.
var ErrClosed = errors.New("ingest pipeline is closed")

// RetryAfter is what overloaded clients are told to wait.
const RetryAfter = time.Second

// Sink stores a batch durably; store.Store satisfies it.
type Sink interface {
	Write(ctx context.Context, b event.Batch) error
}

// Config tunes a Pipeline.
type Config struct {
	// MemoryBudget bounds the bytes held by decoded request bodies and queued
	// events together.
	MemoryBudget int64
	// MaxBatchEvents caps the events in one group commit.
	MaxBatchEvents int
	// Linger is how long the committer waits for more requests once it has
	// some; zero commits whatever is queued at once (the group grows naturally
	// while the previous commit runs).
	Linger time.Duration
	Logger *slog.Logger
}

// Pipeline merges concurrent submissions into group commits.
type Pipeline struct {
	sink   Sink
	cfg    Config
	budget *Budget
	gate   *DecodeGate
	log    *slog.Logger

	mu      sync.Mutex
	pending []*submission
	wake    chan struct{}
	closed  bool
	done    chan struct{}

	stats Stats
}

type submission struct {
	batch event.Batch
	size  int64
	done  chan error
}

// Stats are counters of a Pipeline.
type Stats struct {
	mu                       sync.Mutex
	Commits, Events, Dropped int64
}

// New starts a pipeline writing into sink. Close stops it.
func New(sink Sink, cfg Config) *Pipeline {
	if cfg.MaxBatchEvents <= 0 {
		cfg.MaxBatchEvents = 50000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Pipeline{
		sink:   sink,
		cfg:    cfg,
		budget: NewBudget(cfg.MemoryBudget),
		gate:   NewDecodeGate(0),
		log:    cfg.Logger,
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	go p.run()
	return p
}

// Budget returns the memory budget shared with the decoders, which reserve
// their request bodies in it before decoding.
func (p *Pipeline) Budget() *Budget { return p.budget }

// DecodeGate returns the gate every protocol decodes request bodies behind.
func (p *Pipeline) DecodeGate() *DecodeGate { return p.gate }

// Submit queues a batch and waits until it is durable. It returns
// ErrOverloaded at once when the memory budget cannot hold the batch, and the
// sink's error when the commit failed (nothing of the batch is then known to
// be stored: the client should retry).
func (p *Pipeline) Submit(ctx context.Context, b event.Batch) error {
	if len(b.Events) == 0 {
		return nil
	}
	var size int64
	for i := range b.Events {
		size += int64(b.Events[i].Size())
	}
	if !p.budget.TryAcquire(size) {
		p.stats.add(0, 0, int64(len(b.Events)))
		return ErrOverloaded
	}
	s := &submission{batch: b, size: size, done: make(chan error, 1)}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.budget.Release(size)
		return ErrClosed
	}
	p.pending = append(p.pending, s)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	// The commit is not cancelled with ctx: once queued, the events are
	// written, and a client that went away simply misses the answer.
	select {
	case err := <-s.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close commits everything submitted so far and stops the pipeline.
func (p *Pipeline) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.done
		return
	}
	p.closed = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-p.done
}

// Snapshot returns a copy of the counters.
func (p *Pipeline) Snapshot() (commits, events, dropped int64) {
	p.stats.mu.Lock()
	defer p.stats.mu.Unlock()
	return p.stats.Commits, p.stats.Events, p.stats.Dropped
}

func (s *Stats) add(commits, events, dropped int64) {
	s.mu.Lock()
	s.Commits += commits
	s.Events += events
	s.Dropped += dropped
	s.mu.Unlock()
}

func (p *Pipeline) run() {
	defer close(p.done)
	for {
		p.mu.Lock()
		for len(p.pending) == 0 && !p.closed {
			p.mu.Unlock()
			<-p.wake
			p.mu.Lock()
		}
		if len(p.pending) == 0 && p.closed {
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if p.cfg.Linger > 0 {
			time.Sleep(p.cfg.Linger)
		}
		p.mu.Lock()
		group := p.take()
		p.mu.Unlock()
		p.commit(group)
	}
}

// take removes up to MaxBatchEvents worth of submissions (at least one) from
// the queue. The caller holds p.mu.
func (p *Pipeline) take() []*submission {
	n, events := 0, 0
	for n < len(p.pending) {
		events += len(p.pending[n].batch.Events)
		n++
		if events >= p.cfg.MaxBatchEvents {
			break
		}
	}
	group := make([]*submission, n)
	copy(group, p.pending[:n])
	rest := copy(p.pending, p.pending[n:])
	clear(p.pending[rest:])
	p.pending = p.pending[:rest]
	return group
}

// commit writes a group: one Write per environment, so each submission's
// events land in one transaction with every other submission of its
// environment.
func (p *Pipeline) commit(group []*submission) {
	byEnv := make(map[event.EnvID][]*submission, 1)
	order := make([]event.EnvID, 0, 1)
	for _, s := range group {
		if _, ok := byEnv[s.batch.Env]; !ok {
			order = append(order, s.batch.Env)
		}
		byEnv[s.batch.Env] = append(byEnv[s.batch.Env], s)
	}
	for _, env := range order {
		subs := byEnv[env]
		var events []event.Event
		if len(subs) == 1 {
			events = subs[0].batch.Events
		} else {
			total := 0
			for _, s := range subs {
				total += len(s.batch.Events)
			}
			events = make([]event.Event, 0, total)
			for _, s := range subs {
				events = append(events, s.batch.Events...)
			}
		}
		err := p.sink.Write(context.Background(), event.Batch{Env: env, Events: events})
		if err == nil {
			p.stats.add(1, int64(len(events)), 0)
			p.finish(subs, nil)
			continue
		}
		if len(subs) == 1 {
			p.log.Error("ingest commit failed", "env", env, "events", len(events), "err", err)
			p.finish(subs, fmt.Errorf("commit %d events: %w", len(events), err))
			continue
		}
		// One submission's data (a dataset past its column limit, say) must
		// not fail the others merged into the same commit: write each alone,
		// so only the one at fault gets the error.
		p.log.Warn("ingest group commit failed; committing its submissions one by one", "env", env, "submissions", len(subs), "err", err)
		for _, s := range subs {
			err := p.sink.Write(context.Background(), event.Batch{Env: env, Events: s.batch.Events})
			if err != nil {
				p.log.Error("ingest commit failed", "env", env, "events", len(s.batch.Events), "err", err)
				err = fmt.Errorf("commit %d events: %w", len(s.batch.Events), err)
			} else {
				p.stats.add(1, int64(len(s.batch.Events)), 0)
			}
			p.finish([]*submission{s}, err)
		}
	}
}

// finish releases the submissions' budget and answers them with err.
func (p *Pipeline) finish(subs []*submission, err error) {
	for _, s := range subs {
		p.budget.Release(s.size)
		s.done <- err
	}
}
