// Package migrate moves events between event stores: from the embedded
// DuckDB store to ClickHouse (or back, or between two databases), through a
// file (Export, Import) or directly (Copy).
//
// It reads and writes only through store.Store, so every store works on
// either side. Per environment and dataset it carries the dataset's
// description and retention, every column's type, description and hidden
// flag, and every event with its timestamp (nanoseconds), sample rate and
// typed fields. Creation and last-written times are not carried: the target
// sets them when importing.
//
// # File format
//
// A gzip-compressed stream of JSON lines, one record per line:
//
//	{"header":{"format":"waggle-events","version":1,"created":"…"}}
//	{"dataset":{"env":1,"name":"api","slug":"api","description":"…","retention_ns":5184000000000000}}
//	{"column":{"name":"status","type":"int","description":"","hidden":false}}
//	{"event":{"t":1764038400123456789,"sr":1,"f":[["status","i",200],["route","s","/x"]]}}
//	…
//	{"end":{"datasets":3,"events":120000}}
//
// A dataset's columns follow it, then its events; a field is [key, type,
// value] with type s (string), i (int64, as a JSON number or, beyond 2^53, a
// string), f (float64) or b (bool). The trailing "end" record tells a
// complete file from a truncated one.
//
// # Memory
//
// Events are read window by window: a dataset's event counts per day first,
// then each day (split into hours, minutes, … while a window holds more
// than Options.Window events) as one raw query, so memory stays bounded by
// the window whatever the store's size.
package migrate

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/store"
)

// Options tune an export or import.
type Options struct {
	// Window is the most events read by one query (default 100,000).
	Window int
	// Batch is the most events written by one store write (default 5,000).
	Batch int
	// Progress, if set, is called after every dataset.
	Progress func(env event.EnvID, dataset string, events int64)
}

func (o *Options) defaults() {
	if o.Window <= 0 {
		o.Window = 100_000
	}
	if o.Batch <= 0 {
		o.Batch = 5000
	}
}

// Stats count what was moved.
type Stats struct {
	Datasets int   `json:"datasets"`
	Columns  int   `json:"columns"`
	Events   int64 `json:"events"`
}

type record struct {
	Header  *header     `json:"header,omitempty"`
	Dataset *datasetRec `json:"dataset,omitempty"`
	Column  *columnRec  `json:"column,omitempty"`
	Event   *eventRec   `json:"event,omitempty"`
	End     *Stats      `json:"end,omitempty"`
}

type header struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
}

type datasetRec struct {
	Env         int64  `json:"env"`
	Name        string `json:"name"`
	Slug        string `json:"slug"`
	Description string `json:"description"`
	RetentionNS int64  `json:"retention_ns"`
}

type columnRec struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description"`
	Hidden      bool   `json:"hidden"`
}

type eventRec struct {
	T  int64    `json:"t"`
	SR int64    `json:"sr"`
	F  [][3]any `json:"f"`
}

const formatName = "waggle-events"

// The whole time range a store can hold.
var (
	rangeStart = time.Unix(0, 0).UTC()
	rangeEnd   = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Export writes every dataset of the given environments of src to w.
func Export(ctx context.Context, src store.Store, envs []event.EnvID, w io.Writer, opts Options) (Stats, error) {
	opts.defaults()
	zw := gzip.NewWriter(w)
	bw := bufio.NewWriterSize(zw, 1<<20)
	enc := json.NewEncoder(bw)
	var st Stats
	err := export(ctx, src, envs, func(r *record) error { return enc.Encode(r) }, &st, opts)
	if err == nil {
		err = enc.Encode(&record{End: &st})
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = zw.Close()
	}
	return st, err
}

func export(ctx context.Context, src store.Store, envs []event.EnvID, emit func(*record) error, st *Stats, opts Options) error {
	if err := emit(&record{Header: &header{Format: formatName, Version: 1, Created: time.Now().UTC()}}); err != nil {
		return err
	}
	for _, env := range envs {
		dss, err := src.Datasets(ctx, env)
		if err != nil {
			return fmt.Errorf("export: environment %d: %w", env, err)
		}
		for _, d := range dss {
			n, err := exportDataset(ctx, src, env, d, emit, st, opts)
			if err != nil {
				return fmt.Errorf("export: environment %d dataset %q: %w", env, d.Slug, err)
			}
			if opts.Progress != nil {
				opts.Progress(env, d.Slug, n)
			}
		}
	}
	return nil
}

func exportDataset(ctx context.Context, src store.Store, env event.EnvID, d store.Dataset, emit func(*record) error, st *Stats, opts Options) (int64, error) {
	if err := emit(&record{Dataset: &datasetRec{Env: int64(env), Name: d.Name, Slug: d.Slug, Description: d.Description, RetentionNS: int64(d.Retention)}}); err != nil {
		return 0, err
	}
	st.Datasets++
	cols, err := src.Columns(ctx, env, d.Slug)
	if err != nil {
		return 0, err
	}
	for _, c := range cols {
		if err := emit(&record{Column: &columnRec{Name: c.Name, Type: typeName(c.Type), Description: c.Description, Hidden: c.Hidden}}); err != nil {
			return 0, err
		}
		st.Columns++
	}
	var n int64
	err = windows(ctx, src, env, d.Slug, rangeStart, rangeEnd, 24*time.Hour, opts.Window, func(from, to time.Time) error {
		r, err := src.Execute(ctx, env, &query.Plan{Datasets: []string{d.Slug}, Start: from, End: to})
		if err != nil {
			return err
		}
		for _, e := range r.Events {
			rec := &eventRec{T: e.Time.UnixNano(), SR: max(e.SampleRate, 1), F: make([][3]any, 0, len(e.Fields))}
			for _, f := range e.Fields {
				if f.Value.IsNull() {
					continue
				}
				rec.F = append(rec.F, encodeValue(f.Key, f.Value))
			}
			if err := emit(&record{Event: rec}); err != nil {
				return err
			}
		}
		n += int64(len(r.Events))
		st.Events += int64(len(r.Events))
		return nil
	})
	return n, err
}

// windows calls fn for consecutive time windows of [from, to) that hold
// events, each with at most limit events where the granularity allows:
// it counts events per bucket of g and splits a bucket over the limit into
// buckets a sixtieth (then a tenth) as wide.
func windows(ctx context.Context, src store.Store, env event.EnvID, slug string, from, to time.Time, g time.Duration, limit int, fn func(from, to time.Time) error) error {
	r, err := src.Execute(ctx, env, &query.Plan{
		Datasets: []string{slug}, Start: from, End: to, Granularity: g, Unweighted: true,
		Aggregates: []query.Aggregate{{Op: query.AggCount}},
	})
	if err != nil {
		return fmt.Errorf("count events: %w", err)
	}
	type bucket struct {
		t time.Time
		n float64
	}
	var bs []bucket
	for _, p := range r.Series {
		if len(p.Values) > 0 && !p.Values[0].Null && p.Values[0].Number > 0 {
			bs = append(bs, bucket{p.Time, p.Values[0].Number})
		}
	}
	for _, b := range bs {
		lo, hi := maxTime(b.t, from), minTime(b.t.Add(g), to)
		next := g / 60
		if g <= time.Minute {
			next = g / 10
		}
		if b.n > float64(limit) && next >= time.Millisecond {
			if err := windows(ctx, src, env, slug, lo, hi, next, limit, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(lo, hi); err != nil {
			return err
		}
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func typeName(t event.Type) string {
	switch t {
	case event.TypeInt:
		return "int"
	case event.TypeFloat:
		return "float"
	case event.TypeBool:
		return "boolean"
	}
	return "string"
}

func parseType(s string) (event.Type, error) {
	switch s {
	case "string":
		return event.TypeString, nil
	case "int", "integer":
		return event.TypeInt, nil
	case "float":
		return event.TypeFloat, nil
	case "boolean", "bool":
		return event.TypeBool, nil
	}
	return 0, fmt.Errorf("unknown column type %q", s)
}

func encodeValue(key string, v event.Value) [3]any {
	switch v.Type() {
	case event.TypeInt:
		i := v.Int()
		if i > 1<<53 || i < -(1<<53) {
			return [3]any{key, "i", strconv.FormatInt(i, 10)}
		}
		return [3]any{key, "i", i}
	case event.TypeFloat:
		f := v.Float()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return [3]any{key, "f", strconv.FormatFloat(f, 'g', -1, 64)}
		}
		return [3]any{key, "f", f}
	case event.TypeBool:
		return [3]any{key, "b", v.Bool()}
	}
	return [3]any{key, "s", v.Str()}
}

func decodeValue(f [3]any) (string, event.Value, error) {
	key, _ := f[0].(string)
	code, _ := f[1].(string)
	switch code {
	case "s":
		s, ok := f[2].(string)
		if !ok {
			return "", event.Value{}, fmt.Errorf("field %q: string value %v", key, f[2])
		}
		return key, event.String(s), nil
	case "i":
		switch x := f[2].(type) {
		case json.Number:
			i, err := x.Int64()
			return key, event.Int(i), err
		case string:
			i, err := strconv.ParseInt(x, 10, 64)
			return key, event.Int(i), err
		}
	case "f":
		switch x := f[2].(type) {
		case json.Number:
			v, err := strconv.ParseFloat(string(x), 64)
			return key, event.Float(v), err
		case string:
			v, err := strconv.ParseFloat(x, 64)
			return key, event.Float(v), err
		}
	case "b":
		if b, ok := f[2].(bool); ok {
			return key, event.Bool(b), nil
		}
	}
	return "", event.Value{}, fmt.Errorf("field %q: bad value %v of type %q", key, f[2], code)
}

// Import reads an export from r into dst: datasets are created (or their
// description and retention set when they exist), columns created with
// their type, description and hidden flag, and events written in batches.
func Import(ctx context.Context, dst store.Store, r io.Reader, opts Options) (Stats, error) {
	opts.defaults()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return Stats{}, fmt.Errorf("import: not a waggle export: %w", err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(zr, 1<<20))
	dec.UseNumber()
	im := &importer{dst: dst, opts: opts}
	for {
		var rec record
		err := dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			return im.st, errors.New("import: the file ends before its end record: truncated export")
		}
		if err != nil {
			return im.st, fmt.Errorf("import: %w", err)
		}
		done, err := im.handle(ctx, &rec)
		if err != nil {
			return im.st, fmt.Errorf("import: %w", err)
		}
		if done {
			return im.st, nil
		}
	}
}

type importer struct {
	dst     store.Store
	opts    Options
	st      Stats
	started bool
	env     event.EnvID
	ds      *datasetRec
	pending []event.Event
	dsCount int64
}

func (im *importer) handle(ctx context.Context, rec *record) (bool, error) {
	switch {
	case rec.Header != nil:
		if rec.Header.Format != formatName || rec.Header.Version != 1 {
			return false, fmt.Errorf("unsupported export format %q version %d", rec.Header.Format, rec.Header.Version)
		}
		im.started = true
	case !im.started:
		return false, errors.New("not a waggle export: no header")
	case rec.Dataset != nil:
		if err := im.flushDataset(ctx); err != nil {
			return false, err
		}
		d := rec.Dataset
		im.env, im.ds, im.dsCount = event.EnvID(d.Env), d, 0
		info := store.DatasetInfo{Name: d.Name, Description: d.Description, Retention: time.Duration(d.RetentionNS)}
		if _, created, err := im.dst.CreateDataset(ctx, im.env, info); err != nil {
			return false, fmt.Errorf("dataset %q: %w", d.Slug, err)
		} else if !created {
			if _, err := im.dst.UpdateDataset(ctx, im.env, d.Slug, info); err != nil {
				return false, fmt.Errorf("dataset %q: %w", d.Slug, err)
			}
		}
		im.st.Datasets++
	case rec.Column != nil:
		if im.ds == nil {
			return false, errors.New("column before any dataset")
		}
		c := rec.Column
		t, err := parseType(c.Type)
		if err != nil {
			return false, err
		}
		if _, created, err := im.dst.CreateColumn(ctx, im.env, im.ds.Slug, store.ColumnSpec{Name: c.Name, Type: t, Description: c.Description, Hidden: c.Hidden}); err != nil {
			return false, fmt.Errorf("dataset %q column %q: %w", im.ds.Slug, c.Name, err)
		} else if !created {
			if _, err := im.dst.UpdateColumn(ctx, im.env, im.ds.Slug, c.Name, store.ColumnUpdate{Description: &c.Description, Hidden: &c.Hidden}); err != nil {
				return false, fmt.Errorf("dataset %q column %q: %w", im.ds.Slug, c.Name, err)
			}
		}
		im.st.Columns++
	case rec.Event != nil:
		if im.ds == nil {
			return false, errors.New("event before any dataset")
		}
		e := event.Event{Time: time.Unix(0, rec.Event.T).UTC(), Dataset: im.ds.Name, SampleRate: max(rec.Event.SR, 1)}
		e.Fields = make([]event.Field, 0, len(rec.Event.F))
		for _, f := range rec.Event.F {
			k, v, err := decodeValue(f)
			if err != nil {
				return false, fmt.Errorf("dataset %q: %w", im.ds.Slug, err)
			}
			e.Fields = append(e.Fields, event.Field{Key: k, Value: v})
		}
		im.pending = append(im.pending, e)
		if len(im.pending) >= im.opts.Batch {
			return false, im.flush(ctx)
		}
	case rec.End != nil:
		if err := im.flushDataset(ctx); err != nil {
			return false, err
		}
		if rec.End.Events != im.st.Events || rec.End.Datasets != im.st.Datasets {
			return false, fmt.Errorf("the export counted %d datasets and %d events, the file holds %d and %d", rec.End.Datasets, rec.End.Events, im.st.Datasets, im.st.Events)
		}
		return true, nil
	}
	return false, nil
}

func (im *importer) flush(ctx context.Context) error {
	if len(im.pending) == 0 {
		return nil
	}
	if err := im.dst.Write(ctx, event.Batch{Env: im.env, Events: im.pending}); err != nil {
		return fmt.Errorf("dataset %q: write: %w", im.ds.Slug, err)
	}
	im.st.Events += int64(len(im.pending))
	im.dsCount += int64(len(im.pending))
	im.pending = im.pending[:0]
	return nil
}

func (im *importer) flushDataset(ctx context.Context) error {
	if err := im.flush(ctx); err != nil {
		return err
	}
	if im.ds != nil && im.opts.Progress != nil {
		im.opts.Progress(im.env, im.ds.Slug, im.dsCount)
	}
	return nil
}

// Copy moves the given environments of src into dst directly, as Export
// then Import would through a file.
func Copy(ctx context.Context, src, dst store.Store, envs []event.EnvID, opts Options) (Stats, error) {
	opts.defaults()
	pr, pw := io.Pipe()
	exportOpts := opts
	exportOpts.Progress = nil
	go func() {
		_, err := Export(ctx, src, envs, pw, exportOpts)
		pw.CloseWithError(err)
	}()
	st, err := Import(ctx, dst, pr, opts)
	pr.CloseWithError(errors.New("import stopped"))
	return st, err
}
