package ingest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// recordingSink is a Sink that records what it was asked to write and can be
// made to block or fail, to observe the pipeline's commit behaviour.
type recordingSink struct {
	mu      sync.Mutex
	writes  []event.Batch
	gate    chan struct{} // when non-nil, Write waits for it to close
	entered chan struct{} // when non-nil, Write signals it on entry
	failNow error
	// poison fails any write holding an event of this dataset.
	poison string
}

func (s *recordingSink) Write(_ context.Context, b event.Batch) error {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNow != nil {
		return s.failNow
	}
	for _, e := range b.Events {
		if s.poison != "" && e.Dataset == s.poison {
			return errors.New("dataset has too many columns")
		}
	}
	s.writes = append(s.writes, b)
	return nil
}

func (s *recordingSink) events() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, b := range s.writes {
		n += len(b.Events)
	}
	return n
}

func batchOf(env event.EnvID, n int) event.Batch {
	b := event.Batch{Env: env}
	for i := 0; i < n; i++ {
		b.Events = append(b.Events, event.Event{Dataset: "ds", SampleRate: 1, Fields: []event.Field{{Key: "i", Value: event.Int(int64(i))}}})
	}
	return b
}

func TestSubmitReturnsAfterWrite(t *testing.T) {
	sink := &recordingSink{}
	p := New(sink, Config{})
	defer p.Close()
	if err := p.Submit(context.Background(), batchOf(1, 3)); err != nil {
		t.Fatal(err)
	}
	if got := sink.events(); got != 3 {
		t.Fatalf("sink has %d events after Submit returned, want 3", got)
	}
	if p.Budget().Used() != 0 {
		t.Fatalf("budget still holds %d bytes", p.Budget().Used())
	}
}

func TestGroupCommitMergesConcurrentSubmissions(t *testing.T) {
	sink := &recordingSink{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	p := New(sink, Config{})
	defer p.Close()

	// The first submission occupies the committer; the next ten queue behind
	// it and must land in one commit per environment.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = p.Submit(context.Background(), batchOf(1, 1)) }()
	<-sink.entered
	for i := 0; i < 10; i++ {
		wg.Add(1)
		env := event.EnvID(1 + i%2)
		go func() { defer wg.Done(); _ = p.Submit(context.Background(), batchOf(env, 2)) }()
	}
	waitFor(t, func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.pending) == 10 })
	close(sink.gate)
	wg.Wait()

	if len(sink.writes) != 3 {
		t.Fatalf("got %d writes, want 3 (one, then one per environment)", len(sink.writes))
	}
	if sink.events() != 21 {
		t.Fatalf("got %d events, want 21", sink.events())
	}
	for _, b := range sink.writes[1:] {
		if len(b.Events) != 10 {
			t.Errorf("env %d commit has %d events, want 10", b.Env, len(b.Events))
		}
	}
}

func TestSubmitReportsSinkFailure(t *testing.T) {
	boom := errors.New("disk full")
	sink := &recordingSink{failNow: boom}
	p := New(sink, Config{})
	defer p.Close()
	if err := p.Submit(context.Background(), batchOf(1, 1)); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	if p.Budget().Used() != 0 {
		t.Fatalf("a failed commit kept %d budget bytes", p.Budget().Used())
	}
}

func TestOverloadShedsInsteadOfGrowing(t *testing.T) {
	sink := &recordingSink{gate: make(chan struct{})}
	one := batchOf(1, 10)
	size := int64(0)
	for i := range one.Events {
		size += int64(one.Events[i].Size())
	}
	p := New(sink, Config{MemoryBudget: size * 2})
	defer p.Close()

	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _ = p.Submit(context.Background(), batchOf(1, 10)) }()
	}
	waitFor(t, func() bool { return p.Budget().Used() == size*2 })
	if err := p.Submit(context.Background(), batchOf(1, 10)); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("third submission: got %v, want ErrOverloaded", err)
	}
	close(sink.gate)
	wg.Wait()
	if err := p.Submit(context.Background(), batchOf(1, 10)); err != nil {
		t.Fatalf("after draining: %v", err)
	}
}

func TestCloseCommitsQueuedWork(t *testing.T) {
	sink := &recordingSink{gate: make(chan struct{})}
	p := New(sink, Config{})
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _ = p.Submit(context.Background(), batchOf(1, 1)) }()
	}
	waitFor(t, func() bool { return p.Budget().Used() > 0 })
	go func() { time.Sleep(20 * time.Millisecond); close(sink.gate) }()
	wg.Add(1)
	go func() { defer wg.Done(); p.Close() }()
	wg.Wait()
	if sink.events() != 5 {
		t.Fatalf("after Close the sink has %d events, want 5", sink.events())
	}
	if err := p.Submit(context.Background(), batchOf(1, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
}

func TestBudgetAdmitsOversizedRequestWhenIdle(t *testing.T) {
	b := NewBudget(100)
	if !b.TryAcquire(500) {
		t.Fatal("an idle budget must admit one oversized request")
	}
	if b.TryAcquire(1) {
		t.Fatal("a spent budget admitted more")
	}
	b.Release(500)
	if !b.TryAcquire(60) || b.TryAcquire(60) {
		t.Fatal("budget arithmetic is off")
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFailingSubmissionDoesNotFailItsGroup(t *testing.T) {
	sink := &recordingSink{gate: make(chan struct{}), entered: make(chan struct{}, 16), poison: "bad"}
	p := New(sink, Config{})
	defer p.Close()

	// Hold the committer so the next three submissions are merged into one
	// group commit; one of them is poisoned.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = p.Submit(context.Background(), batchOf(1, 1)) }()
	<-sink.entered
	errs := make([]error, 3)
	for i := range errs {
		b := batchOf(1, 2)
		if i == 1 {
			for j := range b.Events {
				b.Events[j].Dataset = "bad"
			}
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = p.Submit(context.Background(), b) }()
	}
	waitFor(t, func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.pending) == 3 })
	close(sink.gate)
	wg.Wait()
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("healthy submissions failed: %v, %v", errs[0], errs[2])
	}
	if errs[1] == nil {
		t.Fatal("the poisoned submission succeeded")
	}
	if got := sink.events(); got != 5 {
		t.Fatalf("sink has %d events, want 5 (1 + the two healthy submissions)", got)
	}
	if p.Budget().Used() != 0 {
		t.Fatalf("budget still holds %d bytes", p.Budget().Used())
	}
}
