package rollbar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// Item statuses.
const (
	StatusActive   = "active"
	StatusResolved = "resolved"
	StatusMuted    = "muted"
	StatusArchived = "archived"
)

// Limits of the lists an item keeps.
const (
	maxItemEnvironments = 32
	maxItemVersions     = 32
	// recentUUIDs is how many occurrence uuids per environment are
	// remembered to drop repeats.
	recentUUIDs = 1 << 17
)

// Items groups occurrences into items. Every item of an environment is held
// in memory once the environment is first used (fingerprint → item, id →
// item, counter → item), so grouping and listing never wait for the
// database. Changes are written by one goroutine in group commits: each
// flush writes the new items and, for every item that changed, one UPDATE
// with the aggregated occurrence count, in one transaction; Observe returns
// once its flush committed.
type Items struct {
	db  *meta.DB
	log *slog.Logger
	// SyncCounters makes the Ticket of an occurrence of a known item wait
	// for the flush of its item's counters. Off by default: counters and
	// last-seen times of known items are flushed every
	// CounterFlushInterval (the occurrence itself is durable as an event
	// before Rollbar's answer; a crash loses at most the last interval's
	// counter increments). New items and user changes are always durable
	// before Observe or Patch returns.
	SyncCounters bool
	// CounterFlushInterval bounds how long counter changes wait to be
	// written (default 100 ms).
	CounterFlushInterval time.Duration
	lastFlush            time.Time

	// OnChange, if set, receives the notable changes of every flush (new
	// and reactivated items, occurrence counts crossing a power of ten),
	// from the flushing goroutine; it must not block.
	OnChange func([]Change)

	mu   sync.Mutex // guards envs, every Item in them, dirty, changes, ticket
	envs map[event.EnvID]*envItems
	// dirty holds the items changed since the last flush, with the
	// occurrences they gained.
	dirty map[*Item]int64
	// changes are the notable changes since the last flush.
	changes []Change
	// ticket completes with the next flush.
	ticket *Ticket
	// loadMu serializes loading environments from the database.
	loadMu sync.Mutex

	qmu    sync.Mutex
	queue  []*op
	wake   chan struct{}
	closed bool
	done   chan struct{}
}

// envItems are one environment's items.
type envItems struct {
	byHash     map[string]*Item
	byID       map[int64]*Item
	byCounter  map[int64]*Item
	maxCounter int64
	uuids      map[string]struct{}
	uuidRing   []string
	uuidNext   int
}

// Item is an item's state. Fields are guarded by Items.mu; readers get
// copies.
type Item struct {
	meta.RollbarItem
	Envs     []string
	Versions []string
	// written is false until the item's insert committed.
	written bool
	pending int64
}

// Change is a notable change to an item, made by one occurrence.
type Change struct {
	Env  event.EnvID
	Kind string // "new_item", "reactivated_item", "exp_repeat_item"
	Item Item
	// Occurrences is the power of ten crossed (exp_repeat_item).
	Occurrences int64
	// Data is the occurrence's payload (the item's last occurrence).
	Data []byte
}

// Observation is one occurrence to group.
type Observation struct {
	Hash         string
	Title        string
	Level        string
	Environment  string
	CodeVersion  string
	Platform     string
	Framework    string
	Language     string
	Class        string
	UUID         string
	OccurrenceID int64
	// Timestamp is the receipt time, unix seconds.
	Timestamp int64
	// Data is the stored payload, for notifications.
	Data []byte

	// Results, set by Observe.
	Item      Item
	Duplicate bool
}

// op is one unit of the writer's queue: occurrences to group, or a change
// made by a user.
type op struct {
	env   event.EnvID
	obs   []*Observation
	patch func(e *envItems) (*Item, error)
	// patched is the item the patch changed.
	patched Item
	err     error
	ticket  *Ticket
	done    chan struct{}
}

// ErrItemNotFound means the item does not exist in the environment.
var ErrItemNotFound = errors.New("item not found")

// errClosed means the writer is shutting down.
var errClosed = errors.New("rollbar items: closed")

// NewItems starts the item writer over db.
func NewItems(db *meta.DB, log *slog.Logger) *Items {
	if log == nil {
		log = slog.Default()
	}
	it := &Items{db: db, log: log, envs: map[event.EnvID]*envItems{}, dirty: map[*Item]int64{},
		ticket: newTicket(), wake: make(chan struct{}, 1), done: make(chan struct{})}
	go it.run()
	return it
}

// Close flushes what is queued and stops the writer.
func (s *Items) Close() {
	s.qmu.Lock()
	if s.closed {
		s.qmu.Unlock()
		<-s.done
		return
	}
	s.closed = true
	s.qmu.Unlock()
	s.signal()
	<-s.done
}

func (s *Items) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Observe groups occurrences of env. Occurrences of items already stored
// are applied in memory at once; occurrences that create items wait for the
// flush that inserts them. Observe returns a Ticket that completes when the
// flush holding these changes committed: callers that need the item counts
// durable wait for it (concurrently with their own commits).
func (s *Items) Observe(ctx context.Context, env event.EnvID, obs ...*Observation) (*Ticket, error) {
	if _, err := s.load(ctx, env); err != nil {
		return nil, err
	}
	s.mu.Lock()
	e := s.envs[env]
	var slow []*Observation
	if e != nil {
		for _, ob := range obs {
			if it := e.byHash[ob.Hash]; it != nil && it.written {
				s.changes = s.apply(env, e, ob, s.changes)
			} else {
				slow = append(slow, ob)
			}
		}
	} else {
		slow = obs
	}
	t := s.ticket
	if len(s.dirty) == 0 || !s.SyncCounters {
		// Nothing to write (e.g. only repeated uuids), or the caller need
		// not wait for counters.
		t = doneTicket
	}
	s.mu.Unlock()
	if len(slow) == 0 {
		s.signal()
		return t, nil
	}
	o := &op{env: env, obs: slow, done: make(chan struct{})}
	if err := s.do(ctx, o); err != nil {
		return nil, err
	}
	return o.ticket, nil
}

// Flush writes every pending change now and waits until it is durable.
func (s *Items) Flush(ctx context.Context) error {
	o := &op{env: 0, done: make(chan struct{})}
	if err := s.do(ctx, o); err != nil {
		return err
	}
	return o.ticket.Wait(ctx)
}

// Ticket completes when a flush committed.
type Ticket struct {
	done chan struct{}
	err  error
}

// Wait blocks until the flush committed and returns its error.
func (t *Ticket) Wait(ctx context.Context) error {
	select {
	case <-t.done:
		return t.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newTicket() *Ticket { return &Ticket{done: make(chan struct{})} }

// doneTicket is a completed ticket.
var doneTicket = func() *Ticket { t := newTicket(); close(t.done); return t }()

func (s *Items) do(ctx context.Context, o *op) error {
	s.qmu.Lock()
	if s.closed {
		s.qmu.Unlock()
		return errClosed
	}
	s.queue = append(s.queue, o)
	s.qmu.Unlock()
	s.signal()
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Items) run() {
	defer close(s.done)
	for {
		s.qmu.Lock()
		for len(s.queue) == 0 && !s.closed && !s.hasDirty() {
			s.qmu.Unlock()
			<-s.wake
			s.qmu.Lock()
		}
		if len(s.queue) == 0 && !s.closed {
			// Only counter changes: let them gather for up to
			// CounterFlushInterval, unless an op (a new item, a patch)
			// comes first.
			if d := time.Until(s.lastFlush.Add(s.counterInterval())); d > 0 {
				s.qmu.Unlock()
				timer := time.NewTimer(d)
				for waiting := true; waiting; {
					select {
					case <-s.wake:
						s.qmu.Lock()
						waiting = len(s.queue) == 0 && !s.closed
						s.qmu.Unlock()
					case <-timer.C:
						waiting = false
					}
				}
				timer.Stop()
				s.qmu.Lock()
			}
		}
		batch := s.queue
		s.queue = nil
		closed := s.closed
		s.qmu.Unlock()
		s.lastFlush = time.Now()
		if len(batch) == 0 && !s.hasDirty() {
			if closed {
				return
			}
			continue
		}
		s.flush(batch)
	}
}

func (s *Items) counterInterval() time.Duration {
	if s.CounterFlushInterval > 0 {
		return s.CounterFlushInterval
	}
	return 100 * time.Millisecond
}

func (s *Items) hasDirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.dirty) > 0
}

// flush applies a batch of ops in memory, writes them and every pending
// change in one transaction, and answers the ops and the ticket.
func (s *Items) flush(batch []*op) {
	var err error
	var changes []Change
	var t *Ticket
	for attempt := 0; attempt < 2; attempt++ {
		changes, t, err = s.flushOnce(batch)
		if err == nil || !errors.Is(err, meta.ErrConflict) {
			break
		}
		// Another node created an item or counter we did not know about:
		// the environments were dropped; reload and apply again.
		t.err = err
		close(t.done)
	}
	t.err = err
	close(t.done)
	for _, o := range batch {
		if o.err == nil {
			o.err = err
		}
		o.ticket = t
		close(o.done)
	}
	if err == nil && len(changes) > 0 && s.OnChange != nil {
		s.OnChange(changes)
	}
}

func (s *Items) flushOnce(batch []*op) ([]Change, *Ticket, error) {
	envIDs := make([]event.EnvID, 0, 1)
	for _, o := range batch {
		if o.obs == nil && o.patch == nil {
			continue // Flush
		}
		if !slices.Contains(envIDs, o.env) {
			envIDs = append(envIDs, o.env)
		}
	}
	for _, env := range envIDs {
		if _, err := s.load(context.Background(), env); err != nil {
			s.mu.Lock()
			t := s.ticket
			s.ticket = newTicket()
			s.mu.Unlock()
			return nil, t, err
		}
	}

	s.mu.Lock()
	for _, o := range batch {
		if o.obs == nil && o.patch == nil {
			continue
		}
		e := s.envs[o.env]
		if e == nil {
			o.err = fmt.Errorf("rollbar items: environment %d not loaded", o.env)
			continue
		}
		if o.patch != nil {
			it, err := o.patch(e)
			if err != nil {
				o.err = err
				continue
			}
			s.markDirty(it, 0)
			continue
		}
		for _, ob := range o.obs {
			s.changes = s.apply(o.env, e, ob, s.changes)
		}
	}
	// Take the pending changes and the ticket of this flush.
	var writes []meta.RollbarItemWrite
	var inserted, updated []*Item
	for it, add := range s.dirty {
		w := meta.RollbarItemWrite{Item: it.RollbarItem, Insert: !it.written, AddOccurrences: add}
		w.Item.Environments = jsonList(it.Envs)
		w.Item.CodeVersions = jsonList(it.Versions)
		if w.Insert {
			inserted = append(inserted, it)
		} else {
			updated = append(updated, it)
		}
		writes = append(writes, w)
	}
	// Inserts first, in the order of inserted.
	slices.SortStableFunc(writes, func(a, b meta.RollbarItemWrite) int {
		switch {
		case a.Insert && !b.Insert:
			return -1
		case !a.Insert && b.Insert:
			return 1
		}
		return 0
	})
	ins := writes[:len(inserted)]
	inserted = inserted[:0]
	for _, w := range ins {
		inserted = append(inserted, s.envs[event.EnvID(w.Item.EnvID)].byHash[w.Item.Hash])
	}
	clear(s.dirty)
	changes := s.changes
	s.changes = nil
	t := s.ticket
	s.ticket = newTicket()
	s.mu.Unlock()

	if len(writes) == 0 {
		return changes, t, nil
	}
	ids, err := s.db.WriteRollbarItems(context.Background(), writes)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// The memory state is ahead of the database: forget the
		// environments of this flush, the next use reloads them.
		for _, w := range writes {
			delete(s.envs, event.EnvID(w.Item.EnvID))
		}
		for _, env := range envIDs {
			delete(s.envs, env)
		}
		for _, o := range batch {
			o.err = nil
		}
		return nil, t, fmt.Errorf("rollbar items: write: %w", err)
	}
	for i, it := range inserted {
		it.ID = ids[i]
		it.written = true
		if e := s.envs[event.EnvID(it.EnvID)]; e != nil {
			e.byID[it.ID] = it
		}
	}
	for _, o := range batch {
		e := s.envs[o.env]
		if e == nil {
			continue
		}
		for _, ob := range o.obs {
			if !ob.Duplicate {
				if it := e.byHash[ob.Item.Hash]; it != nil {
					ob.Item.ID = it.ID
				}
			}
		}
		if o.patch != nil && o.err == nil {
			if it := e.byHash[o.patched.Hash]; it != nil {
				o.patched = it.copy()
			}
		}
	}
	for i := range changes {
		if e := s.envs[changes[i].Env]; e != nil {
			if it := e.byHash[changes[i].Item.Hash]; it != nil {
				changes[i].Item.ID = it.ID
			}
		}
	}
	return changes, t, nil
}

// markDirty records that it changed (add more occurrences); the caller
// holds s.mu.
func (s *Items) markDirty(it *Item, add int64) {
	s.dirty[it] += add
}

// apply groups one observation; the caller holds s.mu.
func (s *Items) apply(env event.EnvID, e *envItems, ob *Observation, changes []Change) []Change {
	ob.Duplicate = false
	if ob.UUID != "" {
		if _, dup := e.uuids[ob.UUID]; dup {
			ob.Duplicate = true
			return changes
		}
		e.rememberUUID(ob.UUID)
	}
	it := e.byHash[ob.Hash]
	if it == nil {
		e.maxCounter++
		it = &Item{RollbarItem: meta.RollbarItem{
			EnvID: int64(env), Counter: e.maxCounter, Hash: ob.Hash, Title: ob.Title, Level: ob.Level,
			Status: StatusActive, Environment: ob.Environment, Platform: ob.Platform,
			Framework: ob.Framework, Language: ob.Language, ExceptionClass: ob.Class,
			TotalOccurrences:  1,
			FirstOccurrenceID: ob.OccurrenceID, FirstOccurrenceTS: ob.Timestamp,
			LastOccurrenceID: ob.OccurrenceID, LastOccurrenceTS: ob.Timestamp,
			ActivatingOccurrenceID: ob.OccurrenceID, LastActivatedTS: ob.Timestamp,
		}}
		it.addEnv(ob.Environment)
		it.addVersion(ob.CodeVersion)
		e.byHash[ob.Hash] = it
		e.byCounter[it.Counter] = it
		s.markDirty(it, 0)
		ob.Item = it.copy()
		return append(changes, Change{Env: env, Kind: "new_item", Item: it.copy(), Data: ob.Data})
	}
	before := it.TotalOccurrences
	it.TotalOccurrences++
	if ob.Timestamp >= it.LastOccurrenceTS {
		it.LastOccurrenceTS, it.LastOccurrenceID = ob.Timestamp, ob.OccurrenceID
	}
	it.addEnv(ob.Environment)
	it.addVersion(ob.CodeVersion)
	reactivated := false
	if it.Status == StatusResolved && reactivates(ob.CodeVersion, it.ResolvedInVersion) {
		it.Status = StatusActive
		it.Title = ob.Title
		it.ActivatingOccurrenceID, it.LastActivatedTS = ob.OccurrenceID, ob.Timestamp
		it.ResolvedInVersion = ""
		reactivated = true
	}
	s.markDirty(it, 1)
	ob.Item = it.copy()
	if reactivated {
		changes = append(changes, Change{Env: env, Kind: "reactivated_item", Item: it.copy(), Data: ob.Data})
	}
	if p := crossedPower(before, it.TotalOccurrences); p > 0 && it.Status == StatusActive {
		changes = append(changes, Change{Env: env, Kind: "exp_repeat_item", Item: it.copy(), Occurrences: p, Data: ob.Data})
	}
	return changes
}

// crossedPower returns the largest power of ten ≥ 10 in (before, after].
func crossedPower(before, after int64) int64 {
	var found int64
	for p := int64(10); p <= after && p > 0; p *= 10 {
		if p > before {
			found = p
		}
		if p > after/10 {
			break
		}
	}
	return found
}

// reactivates reports whether an occurrence of codeVersion reactivates an
// item resolved in resolvedIn: yes unless both are known and codeVersion is
// older.
func reactivates(codeVersion, resolvedIn string) bool {
	if codeVersion == "" || resolvedIn == "" {
		return true
	}
	c, ok := compareVersions(codeVersion, resolvedIn)
	return !ok || c >= 0
}

// compareVersions compares semantic versions (at most 3 numeric parts,
// leading "v" ignored) or integers; ok is false when they are not
// comparable (e.g. git SHAs).
func compareVersions(a, b string) (int, bool) {
	pa, oka := versionParts(a)
	pb, okb := versionParts(b)
	if !oka || !okb {
		return 0, false
	}
	for i := 0; i < 3; i++ {
		if pa[i] != pb[i] {
			if pa[i] < pb[i] {
				return -1, true
			}
			return 1, true
		}
	}
	return 0, true
}

func versionParts(v string) ([3]int64, bool) {
	var out [3]int64
	v = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(v), "v"), "V")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) == 0 || len(parts) > 3 && len(parts[0]) == 0 {
		return out, false
	}
	for i, p := range parts {
		if i == 3 {
			break
		}
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

func (it *Item) copy() Item {
	c := *it
	c.Envs = slices.Clone(it.Envs)
	c.Versions = slices.Clone(it.Versions)
	return c
}

func (it *Item) addEnv(e string) {
	if e == "" || slices.Contains(it.Envs, e) {
		return
	}
	if len(it.Envs) < maxItemEnvironments {
		it.Envs = append(it.Envs, e)
	}
}

// addVersion keeps the most recent distinct code versions, newest last.
func (it *Item) addVersion(v string) {
	if v == "" {
		return
	}
	if i := slices.Index(it.Versions, v); i >= 0 {
		if i == len(it.Versions)-1 {
			return
		}
		it.Versions = slices.Delete(it.Versions, i, i+1)
	}
	it.Versions = append(it.Versions, v)
	if len(it.Versions) > maxItemVersions {
		it.Versions = slices.Delete(it.Versions, 0, len(it.Versions)-maxItemVersions)
	}
}

func (e *envItems) rememberUUID(u string) {
	if len(e.uuidRing) < recentUUIDs {
		e.uuidRing = append(e.uuidRing, u)
	} else {
		delete(e.uuids, e.uuidRing[e.uuidNext])
		e.uuidRing[e.uuidNext] = u
		e.uuidNext = (e.uuidNext + 1) % recentUUIDs
	}
	e.uuids[u] = struct{}{}
}

// Forget lets a uuid be posted again (its occurrence was not stored).
func (s *Items) Forget(env event.EnvID, uuid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.envs[env]; e != nil {
		delete(e.uuids, uuid)
	}
}

func jsonList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// load returns env's items, reading them from the database on first use.
func (s *Items) load(ctx context.Context, env event.EnvID) (*envItems, error) {
	s.mu.Lock()
	e := s.envs[env]
	s.mu.Unlock()
	if e != nil {
		return e, nil
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	s.mu.Lock()
	e = s.envs[env]
	s.mu.Unlock()
	if e != nil {
		return e, nil
	}
	rows, err := s.db.RollbarItems(ctx, int64(env))
	if err != nil {
		return nil, fmt.Errorf("rollbar items: load: %w", err)
	}
	e = &envItems{
		byHash: make(map[string]*Item, len(rows)), byID: make(map[int64]*Item, len(rows)),
		byCounter: make(map[int64]*Item, len(rows)), uuids: map[string]struct{}{},
	}
	for _, r := range rows {
		it := &Item{RollbarItem: r, written: true}
		_ = json.Unmarshal([]byte(r.Environments), &it.Envs)
		_ = json.Unmarshal([]byte(r.CodeVersions), &it.Versions)
		e.byHash[r.Hash], e.byID[r.ID], e.byCounter[r.Counter] = it, it, it
		e.maxCounter = max(e.maxCounter, r.Counter)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.envs[env]; cur != nil {
		return cur, nil
	}
	s.envs[env] = e
	return e, nil
}
