package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

// traceIDColumn is the column the trace index is built from.
const traceIDColumn = "trace.trace_id"

// eventCols are the events table's columns in insert order.
var eventCols = append(append([]string{"env", "dataset", "ret", "ts", "sr"}, hotColumns...),
	"s_keys", "s_values", "i_keys", "i_values", "f_keys", "f_values", "b_keys", "b_values")

// Write stores a batch. Catalog rows (new datasets and columns), then the
// partition map and the trace index, then the events are inserted, each as
// one INSERT: a crash can leave a column or an index entry without events,
// never events the catalog cannot read.
//
// Durability: Write returns nil only after ClickHouse acknowledged the
// events' INSERT. On a single server that means the rows were written as a
// new part — compressed column files renamed into the table directory —
// before the answer; they survive a crash or kill of either process.
// ClickHouse does not fsync an inserted part by default, so a power loss or
// kernel crash within the OS's write-back delay (about 30 s on Linux) can
// lose acknowledged inserts unless the table has fsync_after_insert=1
// (ClickHouse 21.10 and later; 18.16 only fsyncs merged parts above
// min_rows_to_fsync_after_merge). Clustered, Write waits until every shard
// acknowledged its rows (insert_distributed_sync=1); with replicas, add
// insert_quorum for the same guarantee on several machines.
func (s *Store) Write(ctx context.Context, b event.Batch) error {
	if len(b.Events) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return errClosed
	}
	now := time.Now().UTC()
	dss, err := s.resolve(ctx, b, now, false)
	if errors.Is(err, errStale) {
		// New datasets, columns or column types: create them on the
		// catalog as every node last wrote it (sync.go).
		if err := s.refreshLocked(ctx); err != nil {
			return fmt.Errorf("write: refresh catalog: %w", err)
		}
		dss, err = s.resolve(ctx, b, now, true)
	}
	if err != nil {
		return err
	}

	// Partition map and trace index.
	type dsDay struct {
		ds  int64
		key partKey
	}
	type traceKey struct {
		id  string
		ds  int64
		day int64
	}
	days := map[dsDay]bool{}
	traces := map[traceKey][2]int64{}
	var tkeys []traceKey
	for i := range b.Events {
		e, d := &b.Events[i], dss[i]
		ts := nanos(e.Time)
		k := dsDay{d.id, partKey{retClass(d.retention), dayOf(ts)}}
		days[k] = days[k] || max(e.SampleRate, 1) != 1
		if v, ok := e.Get(traceIDColumn); ok && v.Type() == event.TypeString {
			tk := traceKey{v.Str(), d.id, k.key.day}
			r, ok := traces[tk]
			if !ok {
				tkeys = append(tkeys, tk)
				r = [2]int64{ts, ts}
			}
			traces[tk] = [2]int64{min(r[0], ts), max(r[1], ts)}
		}
	}
	var dayRows [][]any
	s.mu.RLock()
	for k, sampled := range days {
		had, ok := s.parts[k.key][k.ds]
		if !ok || (sampled && !had) {
			dayRows = append(dayRows, []any{int64(b.Env), k.ds, k.key.ret, k.key.day, b2u(sampled || had)})
		}
	}
	s.mu.RUnlock()
	if err := s.insert(ctx, "dataset_days", "env, dataset, ret, day, sampled", dayRows); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	s.mu.Lock()
	for _, r := range dayRows {
		k := partKey{r[2].(uint16), r[3].(int64)}
		if s.parts[k] == nil {
			s.parts[k] = map[int64]bool{}
		}
		s.parts[k][r[1].(int64)] = r[4].(uint8) != 0
	}
	s.mu.Unlock()
	if len(tkeys) > 0 {
		rows := make([][]any, 0, len(tkeys))
		for _, tk := range tkeys {
			r := traces[tk]
			rows = append(rows, []any{int64(b.Env), tk.id, tk.ds, retClass(s.datasets[tk.ds].retention), tk.day, r[0], r[1]})
		}
		if err := s.insert(ctx, "trace_index", "env, trace_id, dataset, ret, day, min_ts, max_ts", rows); err != nil {
			return fmt.Errorf("write: %w", err)
		}
	}

	if err := s.insertEvents(ctx, b, dss); err != nil {
		return fmt.Errorf("write: %w", err)
	}

	s.mu.Lock()
	nowNs := now.UnixNano()
	for i := range b.Events {
		d := dss[i]
		if d.lastWritten != now {
			d.lastWritten = now
			s.dirty[d.id] = nowNs
		}
		for _, f := range b.Events[i].Fields {
			if c := d.cols[f.Key]; c != nil && c.lastWritten != now {
				c.lastWritten = now
				s.dirtyCols[c.id] = nowNs
			}
		}
	}
	s.mu.Unlock()
	if time.Since(s.metaFlushedAt) > metaFlushInterval {
		if err := s.flushMeta(ctx); err != nil {
			s.log.Warn("persisting last-written times failed", "err", err)
		}
	}
	return nil
}

// insertEvents appends the batch to the events table, column by column.
func (s *Store) insertEvents(ctx context.Context, b event.Batch, dss []*dataset) error {
	n := len(b.Events)
	env, dsID, ts, sr := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	ret := make([]uint16, n)
	hotStr := map[string][]*string{}
	hotF := make([]*float64, n)
	hotI := make([]*int64, n)
	for _, h := range hotColumns {
		if h != "duration_ms" && h != "duration_ms_int" {
			hotStr[h] = make([]*string, n)
		}
	}
	sk, ik, fk, bk := make([][]int64, n), make([][]int64, n), make([][]int64, n), make([][]int64, n)
	sv, iv, fv, bv := make([][]string, n), make([][]int64, n), make([][]float64, n), make([][]uint8, n)
	for i := range b.Events {
		e, d := &b.Events[i], dss[i]
		env[i], dsID[i], ret[i], ts[i], sr[i] = int64(b.Env), d.id, retClass(d.retention), nanos(e.Time), max(e.SampleRate, 1)
		sk[i], ik[i], fk[i], bk[i] = []int64{}, []int64{}, []int64{}, []int64{}
		sv[i], iv[i], fv[i], bv[i] = []string{}, []int64{}, []float64{}, []uint8{}
		for j := range e.Fields {
			f := &e.Fields[j]
			t := f.Value.Type()
			if t == event.TypeNull {
				continue
			}
			c := d.cols[f.Key]
			if h := hot[hotKey{f.Key, t}]; h != "" {
				switch t {
				case event.TypeString:
					v := f.Value.Str()
					hotStr[h][i] = &v
				case event.TypeFloat:
					v := f.Value.Float()
					hotF[i] = &v
				case event.TypeInt:
					v := f.Value.Int()
					hotI[i] = &v
				}
				continue
			}
			switch t {
			case event.TypeString:
				sk[i], sv[i] = append(sk[i], c.id), append(sv[i], f.Value.Str())
			case event.TypeInt:
				ik[i], iv[i] = append(ik[i], c.id), append(iv[i], f.Value.Int())
			case event.TypeFloat:
				fk[i], fv[i] = append(fk[i], c.id), append(fv[i], f.Value.Float())
			case event.TypeBool:
				bk[i], bv[i] = append(bk[i], c.id), append(bv[i], b2u(f.Value.Bool()))
			}
		}
	}
	cols := []any{env, dsID, ret, ts, sr}
	for _, h := range hotColumns {
		switch h {
		case "duration_ms":
			cols = append(cols, hotF)
		case "duration_ms_int":
			cols = append(cols, hotI)
		default:
			cols = append(cols, hotStr[h])
		}
	}
	cols = append(cols, sk, sv, ik, iv, fk, fv, bk, bv)

	if s.opts.Cluster != "" {
		ctx = clusterInsert(ctx)
	}
	batch, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.table("events")+" ("+strings.Join(eventCols, ", ")+")")
	if err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	for i, c := range cols {
		if err := batch.Column(i).Append(c); err != nil {
			batch.Abort()
			return fmt.Errorf("insert events: column %s: %w", eventCols[i], err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	return nil
}

// errStale asks Write to refresh the catalog before it creates entries.
var errStale = errors.New("catalog entries to create")

// resolve creates missing datasets and columns in the catalog and returns
// each event's dataset. Keys and strings that are not valid UTF-8 are
// repaired in place (ClickHouse would keep them, DuckDB cannot, and both
// stores answer alike). Unless create, it returns errStale instead of
// creating anything. The caller holds writeMu.
func (s *Store) resolve(ctx context.Context, b event.Batch, now time.Time, create bool) ([]*dataset, error) {
	dss := make([]*dataset, len(b.Events))
	type change struct {
		d    *dataset
		c    column // the column's new state
		p    *column
		was  uint8 // the type bits the catalog had
		isNe bool
	}
	var changes []*change
	pending := map[*column]*change{}
	created := map[*dataset]map[string]*column{}
	newIDs := map[int64]bool{}
	bySlug := map[string]*dataset{}
	for i := range b.Events {
		e := &b.Events[i]
		d := bySlug[e.Dataset]
		if d == nil {
			slug, err := event.Slug(e.Dataset)
			if err != nil {
				return nil, fmt.Errorf("write: dataset %q: %w", e.Dataset, err)
			}
			if d = s.envs[b.Env][slug]; d == nil {
				if !create {
					return nil, errStale
				}
				d, err = s.createDataset(ctx, b.Env, slug, store.DatasetInfo{Name: strings.TrimSpace(e.Dataset)}, now)
				if err != nil {
					return nil, fmt.Errorf("write: %w", err)
				}
			}
			bySlug[e.Dataset] = d
		}
		dss[i] = d
		for j := range e.Fields {
			f := &e.Fields[j]
			t := f.Value.Type()
			if t == event.TypeNull {
				continue
			}
			f.Key = sqlgen.ValidUTF8(f.Key)
			if t == event.TypeString {
				if v := f.Value.Str(); sqlgen.ValidUTF8(v) != v {
					f.Value = event.String(sqlgen.ValidUTF8(v))
				}
			}
			bit := uint8(1) << t
			c := d.cols[f.Key]
			if c == nil {
				c = created[d][f.Key]
			}
			if c == nil {
				if !create {
					return nil, errStale
				}
				if len(d.cols)+len(created[d]) >= store.MaxColumns {
					return nil, fmt.Errorf("write: dataset %q: column %q: %w", d.name, f.Key, store.ErrTooManyColumns)
				}
				id := s.newColumnID(d, f.Key, func(id int64) bool { return newIDs[id] })
				newIDs[id] = true
				c = &column{id: id, name: f.Key, decl: t, typ: t, created: now}
				if created[d] == nil {
					created[d] = map[string]*column{}
				}
				created[d][f.Key] = c
				ch := &change{d: d, c: *c, p: c, isNe: true}
				ch.c.phys = bit
				pending[c] = ch
				changes = append(changes, ch)
				continue
			}
			ch := pending[c]
			have := c.phys
			if ch != nil {
				have = ch.c.phys
			}
			if have&bit != 0 {
				continue
			}
			if !create {
				return nil, errStale
			}
			if ch == nil {
				ch = &change{d: d, c: *c, p: c, was: c.phys}
				pending[c] = ch
				changes = append(changes, ch)
			}
			ch.c.phys |= bit
		}
	}
	if len(changes) == 0 {
		return dss, nil
	}
	var colRows, typeRows [][]any
	for _, ch := range changes {
		if ch.isNe {
			colRows = append(colRows, s.columnRow(ch.d, &ch.c, false))
		}
		for t := event.TypeString; t <= event.TypeBool; t++ {
			if bit := uint8(1) << t; ch.c.phys&bit != 0 && ch.was&bit == 0 {
				typeRows = append(typeRows, []any{ch.d.id, ch.c.id, int8(t)})
			}
		}
	}
	// Types first: a column row is never read without its types.
	if err := s.insert(ctx, "column_types", "dataset, id, type", typeRows); err != nil {
		return nil, fmt.Errorf("write: add column types: %w", err)
	}
	if err := s.insert(ctx, "columns", columnCols, colRows); err != nil {
		return nil, fmt.Errorf("write: add columns: %w", err)
	}
	s.mu.Lock()
	for _, ch := range changes {
		if ch.isNe && ch.d.cols[ch.c.name] == nil {
			*ch.p = ch.c
			ch.d.cols[ch.c.name] = ch.p
			s.colOwner[ch.c.id] = colRef{ch.d.id, ch.c.name}
		} else {
			ch.p.phys |= ch.c.phys
		}
		ch.p.typ = ch.p.derivedType()
		ch.d.phys = nil
	}
	s.mu.Unlock()
	return dss, nil
}
