package xray

import (
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
)

// Assembler decides when parsed documents become events. It is shared by
// the UDP daemon and PutTraceSegments and is safe for concurrent use.
//
// In-progress documents ("in_progress": true, no end_time) are held in
// memory, not written: the complete document with the same id replaces the
// held one and only it is written, so a trace never shows both. A held
// document whose complete version does not come within InProgressTTL is
// written as it is (xray.in_progress = true, duration 0) and makes the trace
// partial; should the complete one arrive later after all, both are stored
// and every reader (trace API aside) prefers the complete one.
//
// Streamed subsegments (independent documents with type "subsegment") join
// their trace by trace id and parent_id; their dataset and service.name are
// those of the segment they belong to. The SDKs stream subtrees before the
// segment ends, so a subsegment whose segment is not known yet is held until
// the segment (or another entity whose segment is known) arrives, at most
// OrphanTTL, then written to UnknownService's dataset.
type Assembler struct {
	// InProgressTTL bounds how long an in-progress document is held
	// (default 15 minutes, Lambda's longest run).
	InProgressTTL time.Duration
	// OrphanTTL bounds how long a streamed subsegment waits for its segment
	// (default 30 s).
	OrphanTTL time.Duration
	// MaxHeld bounds the documents held; past it the oldest are written
	// (default 100,000).
	MaxHeld int

	mu       sync.Mutex
	pending  map[heldKey]*held
	orphans  map[traceKey][]*held
	nOrphans int
	// services maps entity ids to their segment's name, so that later
	// streamed subsegments find their service. Two generations: entries
	// move to old when services fills up (maxServices/2) or serviceTTL
	// passes, and old is dropped at the next rotation; lookups read both.
	// No sweep walks them (at 50,000 segments/s a walk per flush would
	// dominate), and memory stays bounded.
	services, oldServices map[heldKey]string
	rotated               time.Time
}

type heldKey struct {
	env event.EnvID
	id  string // trace id + entity id
}

type traceKey struct {
	env   event.EnvID
	trace string
}

type held struct {
	env     event.EnvID
	seg     *Segment
	service string
	until   time.Time
}

// serviceTTL is how long an entity's service is remembered at least
// (unless maxServices entities arrive first), and twice that at most.
const serviceTTL = 5 * time.Minute

// maxServices bounds the entities whose service is remembered.
const maxServices = 1 << 20

func (a *Assembler) init() {
	if a.pending == nil {
		a.pending = map[heldKey]*held{}
		a.orphans = map[traceKey][]*held{}
		a.services = map[heldKey]string{}
	}
	if a.InProgressTTL <= 0 {
		a.InProgressTTL = 15 * time.Minute
	}
	if a.OrphanTTL <= 0 {
		a.OrphanTTL = 30 * time.Second
	}
	if a.MaxHeld <= 0 {
		a.MaxHeld = 100000
	}
}

// Held returns the number of documents held (in progress and orphans).
func (a *Assembler) Held() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending) + a.nOrphans
}

// Add takes one parsed document of environment env and appends the events
// to write now to out.
func (a *Assembler) Add(env event.EnvID, s *Segment, now time.Time, out []event.Event) []event.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.init()
	key := heldKey{env, s.TraceID + s.ID}
	if s.InProgress {
		svc := s.Name
		if s.IsSubsegment() {
			svc = a.serviceOf(env, s)
		}
		a.pending[key] = &held{env: env, seg: s, service: svc, until: now.Add(a.InProgressTTL)}
		if !s.IsSubsegment() {
			a.remember(env, s, s.Name, now)
		}
		if len(a.pending)+a.nOrphans > a.MaxHeld {
			out = a.evictOldest(out)
		}
		return out
	}
	delete(a.pending, key)
	if !s.IsSubsegment() {
		a.remember(env, s, s.Name, now)
		out = Translate(s, s.Name, out)
		return a.release(env, s.TraceID, now, out)
	}
	svc := a.serviceOf(env, s)
	if svc == "" {
		tk := traceKey{env, s.TraceID}
		a.orphans[tk] = append(a.orphans[tk], &held{env: env, seg: s, until: now.Add(a.OrphanTTL)})
		a.nOrphans++
		if len(a.pending)+a.nOrphans > a.MaxHeld {
			out = a.evictOldest(out)
		}
		return out
	}
	a.remember(env, s, svc, now)
	out = Translate(s, svc, out)
	return a.release(env, s.TraceID, now, out)
}

// serviceOf returns the service a subsegment belongs to, "" if unknown.
func (a *Assembler) serviceOf(env event.EnvID, s *Segment) string {
	k := heldKey{env, s.TraceID + s.ParentID}
	if n, ok := a.services[k]; ok {
		return n
	}
	return a.oldServices[k]
}

// remember records the service of s and everything nested in it.
func (a *Assembler) remember(env event.EnvID, s *Segment, svc string, now time.Time) {
	if len(a.services) >= maxServices/2 || now.Sub(a.rotated) > serviceTTL {
		a.oldServices, a.services, a.rotated = a.services, make(map[heldKey]string, len(a.services)/2), now
	}
	a.services[heldKey{env, s.TraceID + s.ID}] = svc
	for _, c := range s.Subsegments {
		a.remember(env, c, svc, now)
	}
}

// release writes the held orphans of a trace whose service became known.
func (a *Assembler) release(env event.EnvID, trace string, now time.Time, out []event.Event) []event.Event {
	tk := traceKey{env, trace}
	list := a.orphans[tk]
	if len(list) == 0 {
		return out
	}
	for progress := true; progress && len(list) > 0; {
		progress = false
		kept := list[:0]
		for _, h := range list {
			if svc := a.serviceOf(env, h.seg); svc != "" {
				a.remember(env, h.seg, svc, now)
				out = Translate(h.seg, svc, out)
				a.nOrphans--
				progress = true
				continue
			}
			kept = append(kept, h)
		}
		list = kept
	}
	if len(list) == 0 {
		delete(a.orphans, tk)
	} else {
		a.orphans[tk] = list
	}
	return out
}

// Sweep writes what has been held past its time: in-progress documents
// as they are, orphans under UnknownService.
func (a *Assembler) Sweep(now time.Time, out []event.Event) []event.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.init()
	for k, h := range a.pending {
		if now.After(h.until) {
			delete(a.pending, k)
			out = Translate(h.seg, h.service, out)
		}
	}
	for tk, list := range a.orphans {
		kept := list[:0]
		for _, h := range list {
			if now.After(h.until) {
				svc := a.serviceOf(tk.env, h.seg)
				if svc == "" {
					svc = UnknownService
				}
				out = Translate(h.seg, svc, out)
				a.nOrphans--
				continue
			}
			kept = append(kept, h)
		}
		if len(kept) == 0 {
			delete(a.orphans, tk)
		} else {
			a.orphans[tk] = kept
		}
	}
	return out
}

// Flush writes everything held (at shutdown).
func (a *Assembler) Flush(out []event.Event) []event.Event {
	return a.Sweep(time.Now().Add(24*time.Hour*365), out)
}

// evictOldest writes the held document closest to its deadline.
func (a *Assembler) evictOldest(out []event.Event) []event.Event {
	var oldest heldKey
	var oh *held
	for k, h := range a.pending {
		if oh == nil || h.until.Before(oh.until) {
			oldest, oh = k, h
		}
	}
	if oh != nil {
		delete(a.pending, oldest)
		return Translate(oh.seg, oh.service, out)
	}
	for tk, list := range a.orphans {
		h := list[0]
		out = Translate(h.seg, UnknownService, out)
		a.nOrphans--
		if len(list) == 1 {
			delete(a.orphans, tk)
		} else {
			a.orphans[tk] = list[1:]
		}
		break
	}
	return out
}
