package cloudwatchlogs

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
)

// registry caches the log groups and streams of the environments in use, so
// PutLogEvents checks its stream without a database round trip, and keeps
// the streams' event-time statistics, which are written back in batches
// (Flush). Changes made through this process update both the database and
// the cache; a group or stream created by another node sharing the database
// is found on a cache miss.
type registry struct {
	db *meta.DB

	mu   sync.Mutex
	envs map[event.EnvID]map[string]*group
}

type group struct {
	meta.LogGroup
	// streams is guarded by registry.mu.
	streams map[string]*stream
}

type stream struct {
	meta.LogStream
	dirty bool
}

func newRegistry(db *meta.DB) *registry {
	return &registry{db: db, envs: map[event.EnvID]map[string]*group{}}
}

// load returns env's groups, reading them (and their streams) on first use.
// The caller holds r.mu.
func (r *registry) load(ctx context.Context, env event.EnvID) (map[string]*group, error) {
	if gs, ok := r.envs[env]; ok {
		return gs, nil
	}
	rows, err := r.db.LogGroups(ctx, int64(env))
	if err != nil {
		return nil, err
	}
	gs := make(map[string]*group, len(rows))
	for _, row := range rows {
		g := &group{LogGroup: row, streams: map[string]*stream{}}
		sts, err := r.db.LogStreams(ctx, row.ID)
		if err != nil {
			return nil, err
		}
		for _, st := range sts {
			g.streams[st.Name] = &stream{LogStream: st}
		}
		gs[row.Name] = g
	}
	r.envs[env] = gs
	return gs, nil
}

// groupCopy returns a snapshot of a group: its row and its streams.
type groupView struct {
	meta.LogGroup
	Streams []meta.LogStream // ordered by name
}

// group returns a group by name, refreshing from the database on a miss.
func (r *registry) group(ctx context.Context, env event.EnvID, name string) (*groupView, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, err := r.lookup(ctx, env, name)
	if err != nil || g == nil {
		return nil, err
	}
	return g.view(), nil
}

// lookup finds a group, trying the database once on a miss. The caller holds
// r.mu.
func (r *registry) lookup(ctx context.Context, env event.EnvID, name string) (*group, error) {
	gs, err := r.load(ctx, env)
	if err != nil {
		return nil, err
	}
	if g := gs[name]; g != nil {
		return g, nil
	}
	row, err := r.db.LogGroup(ctx, int64(env), name)
	if errors.Is(err, meta.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	g := &group{LogGroup: row, streams: map[string]*stream{}}
	sts, err := r.db.LogStreams(ctx, row.ID)
	if err != nil {
		return nil, err
	}
	for _, st := range sts {
		g.streams[st.Name] = &stream{LogStream: st}
	}
	gs[name] = g
	return g, nil
}

func (g *group) view() *groupView {
	v := &groupView{LogGroup: g.LogGroup, Streams: make([]meta.LogStream, 0, len(g.streams))}
	for _, st := range g.streams {
		v.Streams = append(v.Streams, st.LogStream)
	}
	sort.Slice(v.Streams, func(i, j int) bool { return v.Streams[i].Name < v.Streams[j].Name })
	return v
}

// groups lists env's groups ordered by name.
func (r *registry) groups(ctx context.Context, env event.EnvID) ([]*groupView, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	gs, err := r.load(ctx, env)
	if err != nil {
		return nil, err
	}
	out := make([]*groupView, 0, len(gs))
	for _, g := range gs {
		out = append(out, &groupView{LogGroup: g.LogGroup})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// createGroup stores a new group; meta.ErrConflict if it exists.
func (r *registry) createGroup(ctx context.Context, env event.EnvID, row meta.LogGroup) (*groupView, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	gs, err := r.load(ctx, env)
	if err != nil {
		return nil, err
	}
	if gs[row.Name] != nil {
		return nil, meta.ErrConflict
	}
	row, err = r.db.CreateLogGroup(ctx, row)
	if err != nil {
		return nil, err
	}
	g := &group{LogGroup: row, streams: map[string]*stream{}}
	gs[row.Name] = g
	return g.view(), nil
}

// datasetTaken reports whether a group of env other than name stores its
// events in dataset (a slug).
func (r *registry) datasetTaken(ctx context.Context, env event.EnvID, dataset string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	gs, err := r.load(ctx, env)
	if err != nil {
		return false, err
	}
	for _, g := range gs {
		if strings.EqualFold(g.Dataset, dataset) {
			return true, nil
		}
	}
	return false, nil
}

// updateGroup writes a group's settings through fn.
func (r *registry) updateGroup(ctx context.Context, env event.EnvID, name string, fn func(g *meta.LogGroup) error) (*groupView, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, err := r.lookup(ctx, env, name)
	if err != nil || g == nil {
		return nil, err
	}
	row := g.LogGroup
	if err := fn(&row); err != nil {
		return nil, err
	}
	if err := r.db.UpdateLogGroup(ctx, row); err != nil {
		return nil, err
	}
	g.LogGroup = row
	return g.view(), nil
}

// deleteGroup removes a group and its streams.
func (r *registry) deleteGroup(ctx context.Context, env event.EnvID, id int64, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.db.DeleteLogGroup(ctx, id); err != nil {
		return err
	}
	if gs := r.envs[env]; gs != nil {
		delete(gs, name)
	}
	return nil
}

// createStream stores a new stream in group; meta.ErrConflict if it exists,
// (false, nil) when the group does not exist.
func (r *registry) createStream(ctx context.Context, env event.EnvID, groupName string, st meta.LogStream) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, err := r.lookup(ctx, env, groupName)
	if err != nil || g == nil {
		return false, err
	}
	if g.streams[st.Name] != nil {
		return true, meta.ErrConflict
	}
	st.GroupID = g.ID
	if err := r.db.CreateLogStream(ctx, st); err != nil {
		if errors.Is(err, meta.ErrConflict) {
			// Created by another node: pick it up.
			if sts, lerr := r.db.LogStreams(ctx, g.ID); lerr == nil {
				for _, x := range sts {
					if g.streams[x.Name] == nil {
						g.streams[x.Name] = &stream{LogStream: x}
					}
				}
			}
		}
		return true, err
	}
	g.streams[st.Name] = &stream{LogStream: st}
	return true, nil
}

// deleteStream removes a stream; meta.ErrNotFound if it does not exist.
func (r *registry) deleteStream(ctx context.Context, env event.EnvID, groupName, name string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, err := r.lookup(ctx, env, groupName)
	if err != nil || g == nil {
		return false, err
	}
	if err := r.db.DeleteLogStream(ctx, g.ID, name); err != nil {
		return true, err
	}
	delete(g.streams, name)
	return true, nil
}

// target is what PutLogEvents needs to know about its stream.
type target struct {
	group  meta.LogGroup
	stream meta.LogStream
}

// streamFor resolves a group and stream for writing. It reports which of the
// two is missing.
func (r *registry) streamFor(ctx context.Context, env event.EnvID, groupName, streamName string) (t target, groupOK, streamOK bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g, err := r.lookup(ctx, env, groupName)
	if err != nil || g == nil {
		return t, false, false, err
	}
	st := g.streams[streamName]
	if st == nil {
		// Maybe created by another node.
		sts, err := r.db.LogStreams(ctx, g.ID)
		if err != nil {
			return t, true, false, err
		}
		for _, x := range sts {
			if g.streams[x.Name] == nil {
				g.streams[x.Name] = &stream{LogStream: x}
			}
		}
		if st = g.streams[streamName]; st == nil {
			return t, true, false, nil
		}
	}
	return target{group: g.LogGroup, stream: st.LogStream}, true, true, nil
}

// recordWrite updates a stream's event-time statistics after a write.
func (r *registry) recordWrite(env event.EnvID, groupName, streamName string, first, last, ingested int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.envs[env][groupName]
	if g == nil {
		return
	}
	st := g.streams[streamName]
	if st == nil {
		return
	}
	if st.FirstEventMs == 0 || first < st.FirstEventMs {
		st.FirstEventMs = first
	}
	if last > st.LastEventMs {
		st.LastEventMs = last
	}
	if ingested > st.LastIngestionMs {
		st.LastIngestionMs = ingested
	}
	st.dirty = true
}

// Flush writes the streams' changed statistics to the database.
func (r *registry) flush(ctx context.Context) error {
	r.mu.Lock()
	var rows []meta.LogStream
	var marks []*stream
	for _, gs := range r.envs {
		for _, g := range gs {
			for _, st := range g.streams {
				if st.dirty {
					rows = append(rows, st.LogStream)
					marks = append(marks, st)
					st.dirty = false
				}
			}
		}
	}
	r.mu.Unlock()
	if err := r.db.UpdateLogStreamTimes(ctx, rows); err != nil {
		r.mu.Lock()
		for _, st := range marks {
			st.dirty = true
		}
		r.mu.Unlock()
		return err
	}
	return nil
}
