package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/store"
	"github.com/waggle-hq/waggle/internal/store/sqlgen"
)

func (s *Store) addDataset(d *dataset) {
	if s.envs[d.env] == nil {
		s.envs[d.env] = map[string]*dataset{}
	}
	s.envs[d.env][d.slug] = d
	s.datasets[d.id] = d
}

// lookup finds a dataset by name or slug. Callers hold mu or writeMu.
func (s *Store) lookup(env event.EnvID, name string) (*dataset, error) {
	slug, err := event.Slug(name)
	if err != nil {
		return nil, fmt.Errorf("dataset %q: %w", name, err)
	}
	d := s.envs[env][slug]
	if d == nil {
		return nil, fmt.Errorf("dataset %q: %w", name, store.ErrNotFound)
	}
	return d, nil
}

func (d *dataset) info() store.Dataset {
	return store.Dataset{
		Env: d.env, Slug: d.slug, Name: d.name, Description: d.description,
		Retention: d.retention, CreatedAt: d.created, LastWrittenAt: d.lastWritten,
		Columns: len(d.cols),
	}
}

func columnInfo(c *column) store.Column {
	return store.Column{
		ID: strconv.FormatInt(c.id, 10), Name: c.name, Type: c.typ, Description: c.description,
		Hidden: c.hidden, CreatedAt: c.created, LastWritten: c.lastWritten,
	}
}

// physical is the part column map of d: for every column and value type
// seen, the typed column or the sparse array name. Callers hold mu.
func (d *dataset) physical() map[string]sqlgen.Physical {
	if d.phys != nil {
		return d.phys
	}
	m := make(map[string]sqlgen.Physical, len(d.cols))
	for _, c := range d.cols {
		var p sqlgen.Physical
		for t := event.TypeString; t <= event.TypeBool; t++ {
			if c.phys&(1<<t) == 0 {
				continue
			}
			name := hot[hotKey{c.name, t}]
			if name == "" {
				name = sparseName(c.id, t)
			}
			switch t {
			case event.TypeString:
				p.String = name
			case event.TypeInt:
				p.Int = name
			case event.TypeFloat:
				p.Float = name
			case event.TypeBool:
				p.Bool = name
			}
		}
		m[c.name] = p
	}
	d.phys = m
	return m
}

// nextVersion is the version of the next catalog row.
func (s *Store) nextVersion() uint64 {
	s.version = max(s.version+1, uint64(time.Now().UnixNano()))
	return s.version
}

// insert appends rows to a table through one native batch.
func (s *Store) insert(ctx context.Context, table string, cols string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if s.opts.Cluster != "" {
		ctx = clusterInsert(ctx)
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO "+s.table(table)+" ("+cols+")")
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	for _, r := range rows {
		if err := b.Append(r...); err != nil {
			b.Abort()
			return fmt.Errorf("insert into %s: %w", table, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	return nil
}

// clusterInsert makes an INSERT into a Distributed table return only after
// every shard stored its rows; by default the Distributed table would queue
// them on this server's disk and answer at once.
func clusterInsert(ctx context.Context) context.Context {
	return ch.Context(ctx, ch.WithSettings(ch.Settings{"insert_distributed_sync": 1}))
}

const (
	datasetCols = "id, env, slug, name, description, retention, created, last_written, deleted, version"
	columnCols  = "id, dataset, name, type, phys, description, hidden, created, last_written, deleted, version"
)

// datasetRow is a new version of d's catalog row; a deletion's version wins
// over every live one (tombVersion).
func (s *Store) datasetRow(d *dataset, deleted bool) []any {
	v := s.nextVersion()
	if deleted {
		v = tombVersion(v)
	}
	return []any{d.id, int64(d.env), d.slug, d.name, d.description, int64(d.retention),
		toNanos(d.created), toNanos(d.lastWritten), b2u(deleted), v}
}

func (s *Store) columnRow(d *dataset, c *column, deleted bool) []any {
	v := s.nextVersion()
	if deleted {
		v = tombVersion(v)
	}
	return []any{c.id, d.id, c.name, int8(c.decl), c.phys, c.description, b2u(c.hidden),
		toNanos(c.created), toNanos(c.lastWritten), b2u(deleted), v}
}

// freshLocked is refreshLocked for catalog changes: the change is then made
// on the catalog as every node last wrote it.
func (s *Store) freshLocked(ctx context.Context) error {
	if err := s.refreshLocked(ctx); err != nil {
		return fmt.Errorf("refresh catalog: %w", err)
	}
	return nil
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// createDataset creates a dataset in the catalog. The caller holds writeMu.
func (s *Store) createDataset(ctx context.Context, env event.EnvID, slug string, info store.DatasetInfo, now time.Time) (*dataset, error) {
	ret := info.Retention
	if ret <= 0 {
		ret = store.DefaultRetention
	}
	d := &dataset{
		id: s.newDatasetID(env, slug), env: env, slug: slug, name: sqlgen.ValidUTF8(info.Name), description: sqlgen.ValidUTF8(info.Description),
		retention: ret, created: now.UTC(), cols: map[string]*column{},
	}
	if err := s.insert(ctx, "datasets", datasetCols, [][]any{s.datasetRow(d, false)}); err != nil {
		return nil, fmt.Errorf("create dataset %q: %w", info.Name, err)
	}
	s.mu.Lock()
	s.addDataset(d)
	s.mu.Unlock()
	return d, nil
}

// CreateDataset creates a dataset if it does not exist.
func (s *Store) CreateDataset(ctx context.Context, env event.EnvID, info store.DatasetInfo) (store.Dataset, bool, error) {
	slug, err := event.Slug(info.Name)
	if err != nil {
		return store.Dataset{}, false, fmt.Errorf("create dataset %q: %w", info.Name, err)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return store.Dataset{}, false, errClosed
	}
	if err := s.freshLocked(ctx); err != nil {
		return store.Dataset{}, false, fmt.Errorf("create dataset %q: %w", info.Name, err)
	}
	if d := s.envs[env][slug]; d != nil {
		return d.info(), false, nil
	}
	d, err := s.createDataset(ctx, env, slug, info, time.Now())
	if err != nil {
		return store.Dataset{}, false, err
	}
	return d.info(), true, nil
}

// Dataset returns one dataset by name or slug.
func (s *Store) Dataset(ctx context.Context, env event.EnvID, name string) (store.Dataset, error) {
	if err := s.fresh(ctx); err != nil {
		return store.Dataset{}, fmt.Errorf("dataset %q: %w", name, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.lookup(env, name)
	if err != nil {
		return store.Dataset{}, err
	}
	return d.info(), nil
}

// Datasets lists the environment's datasets ordered by slug.
func (s *Store) Datasets(ctx context.Context, env event.EnvID) ([]store.Dataset, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]store.Dataset, 0, len(s.envs[env]))
	for _, d := range s.envs[env] {
		out = append(out, d.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out, nil
}

// UpdateDataset changes a dataset's description and retention. A new
// retention applies to events written from now on by their partition, and
// to older ones through EnforceRetention (see the package documentation).
func (s *Store) UpdateDataset(ctx context.Context, env event.EnvID, slug string, info store.DatasetInfo) (store.Dataset, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return store.Dataset{}, errClosed
	}
	if err := s.freshLocked(ctx); err != nil {
		return store.Dataset{}, err
	}
	d, err := s.lookup(env, slug)
	if err != nil {
		return store.Dataset{}, fmt.Errorf("update dataset: %w", err)
	}
	ret := info.Retention
	if ret <= 0 {
		ret = store.DefaultRetention
	}
	cp := *d
	cp.description, cp.retention = sqlgen.ValidUTF8(info.Description), ret
	if err := s.insert(ctx, "datasets", datasetCols, [][]any{s.datasetRow(&cp, false)}); err != nil {
		return store.Dataset{}, fmt.Errorf("update dataset %q: %w", d.slug, err)
	}
	s.mu.Lock()
	d.description, d.retention = cp.description, cp.retention
	s.mu.Unlock()
	return d.info(), nil
}

// DeleteDataset removes a dataset and its columns from the catalog at once
// (its id is never reused, so nothing reads its events again) and starts
// deleting its events in the background (a mutation); whatever a mutation
// leaves goes with its partitions.
func (s *Store) DeleteDataset(ctx context.Context, env event.EnvID, slug string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return errClosed
	}
	if err := s.freshLocked(ctx); err != nil {
		return err
	}
	d, err := s.lookup(env, slug)
	if err != nil {
		return fmt.Errorf("delete dataset: %w", err)
	}
	if err := s.insert(ctx, "datasets", datasetCols, [][]any{s.datasetRow(d, true)}); err != nil {
		return fmt.Errorf("delete dataset %q: %w", d.slug, err)
	}
	s.mu.Lock()
	delete(s.envs[env], d.slug)
	delete(s.datasets, d.id)
	s.tombDS[d.id] = true
	delete(s.dirty, d.id)
	s.mu.Unlock()
	for _, t := range []string{"events", "trace_index"} {
		s.mutate(ctx, t, "DELETE WHERE env = "+inum(int64(env))+" AND dataset = "+inum(d.id))
	}
	return nil
}

// mutate starts a mutation on a sharded table on every shard; failures are
// logged, since the data it targets is already unreachable.
func (s *Store) mutate(ctx context.Context, table, what string) {
	for _, sh := range s.shards {
		st := "ALTER TABLE " + s.q(s.opts.Database) + "." + s.q(s.localName(table)) + " " + what
		if _, err := sh.ExecContext(ctx, st); err != nil {
			s.log.Warn("clickhouse mutation failed", "statement", st, "err", err)
		}
	}
}

// Columns lists a dataset's columns ordered by name.
func (s *Store) Columns(ctx context.Context, env event.EnvID, name string) ([]store.Column, error) {
	if err := s.fresh(ctx); err != nil {
		return nil, fmt.Errorf("columns of %q: %w", name, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.lookup(env, name)
	if err != nil {
		return nil, err
	}
	out := make([]store.Column, 0, len(d.cols))
	for _, c := range d.cols {
		out = append(out, columnInfo(c))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// UpdateColumn changes a column's description and hidden flag.
func (s *Store) UpdateColumn(ctx context.Context, env event.EnvID, name, col string, u store.ColumnUpdate) (store.Column, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return store.Column{}, errClosed
	}
	if err := s.freshLocked(ctx); err != nil {
		return store.Column{}, err
	}
	d, err := s.lookup(env, name)
	if err != nil {
		return store.Column{}, fmt.Errorf("update column: %w", err)
	}
	c := d.cols[col]
	if c == nil {
		return store.Column{}, fmt.Errorf("update column %q: %w", col, store.ErrNotFound)
	}
	cp := *c
	if u.Description != nil {
		cp.description = sqlgen.ValidUTF8(*u.Description)
	}
	if u.Hidden != nil {
		cp.hidden = *u.Hidden
	}
	if err := s.insert(ctx, "columns", columnCols, [][]any{s.columnRow(d, &cp, false)}); err != nil {
		return store.Column{}, fmt.Errorf("update column %q: %w", col, err)
	}
	s.mu.Lock()
	c.description, c.hidden = cp.description, cp.hidden
	s.mu.Unlock()
	return columnInfo(c), nil
}

// CreateColumn creates a column before any event has it.
func (s *Store) CreateColumn(ctx context.Context, env event.EnvID, name string, spec store.ColumnSpec) (store.Column, bool, error) {
	if spec.Name == "" {
		return store.Column{}, false, fmt.Errorf("create column: empty name")
	}
	t := spec.Type
	if t == event.TypeNull {
		t = event.TypeString
	}
	if t > event.TypeBool {
		return store.Column{}, false, fmt.Errorf("create column %q: unknown type %d", spec.Name, t)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return store.Column{}, false, errClosed
	}
	if err := s.freshLocked(ctx); err != nil {
		return store.Column{}, false, err
	}
	d, err := s.lookup(env, name)
	if err != nil {
		return store.Column{}, false, fmt.Errorf("create column: %w", err)
	}
	key := sqlgen.ValidUTF8(spec.Name)
	if c := d.cols[key]; c != nil {
		return columnInfo(c), false, nil
	}
	if len(d.cols) >= store.MaxColumns {
		return store.Column{}, false, fmt.Errorf("create column %q: %w", key, store.ErrTooManyColumns)
	}
	c := &column{id: s.newColumnID(d, key, nil), name: key, decl: t, typ: t, description: sqlgen.ValidUTF8(spec.Description),
		hidden: spec.Hidden, created: time.Now().UTC()}
	if err := s.insert(ctx, "columns", columnCols, [][]any{s.columnRow(d, c, false)}); err != nil {
		return store.Column{}, false, fmt.Errorf("create column %q: %w", key, err)
	}
	s.mu.Lock()
	s.colOwner[c.id] = colRef{d.id, key}
	d.cols[key] = c
	d.phys = nil
	s.mu.Unlock()
	return columnInfo(c), true, nil
}

// DeleteColumn removes a column from the catalog. Values in the sparse
// arrays are keyed by the column's id, which is never reused, so they are
// unreachable at once and leave with their partitions; values in a typed
// column are cleared by a mutation that DeleteColumn waits for, so a column
// of the same name created later starts empty.
func (s *Store) DeleteColumn(ctx context.Context, env event.EnvID, name, col string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.closed {
		return errClosed
	}
	if err := s.freshLocked(ctx); err != nil {
		return err
	}
	d, err := s.lookup(env, name)
	if err != nil {
		return fmt.Errorf("delete column: %w", err)
	}
	c := d.cols[col]
	if c == nil {
		return fmt.Errorf("delete column %q: %w", col, store.ErrNotFound)
	}
	var sets []string
	for t := event.TypeString; t <= event.TypeBool; t++ {
		if h := hot[hotKey{c.name, t}]; h != "" && c.phys&(1<<t) != 0 {
			sets = append(sets, s.q(h)+" = NULL")
		}
	}
	if len(sets) > 0 {
		where := " WHERE env = " + inum(int64(env)) + " AND dataset = " + inum(d.id)
		if err := s.mutateWait(ctx, "events", "UPDATE "+strings.Join(sets, ", ")+where); err != nil {
			return fmt.Errorf("delete column %q: %w", col, err)
		}
		if c.name == traceIDColumn {
			s.mutate(ctx, "trace_index", "DELETE"+where)
		}
	}
	if err := s.insert(ctx, "columns", columnCols, [][]any{s.columnRow(d, c, true)}); err != nil {
		return fmt.Errorf("delete column %q: %w", col, err)
	}
	s.mu.Lock()
	delete(d.cols, col)
	s.tombCol[c.id] = true
	delete(s.dirtyCols, c.id)
	d.phys = nil
	s.mu.Unlock()
	return nil
}

// mutateWait runs a mutation on every shard and waits until it is done
// (18.16 has no mutations_sync setting).
func (s *Store) mutateWait(ctx context.Context, table, what string) error {
	for _, sh := range s.shards {
		local := s.localName(table)
		if _, err := sh.ExecContext(ctx, "ALTER TABLE "+s.q(s.opts.Database)+"."+s.q(local)+" "+what); err != nil {
			return err
		}
		for {
			var pending uint64
			err := sh.QueryRowContext(ctx, "SELECT count() FROM system.mutations WHERE database = ? AND table = ? AND is_done = 0",
				s.opts.Database, local).Scan(&pending)
			if err != nil {
				return err
			}
			if pending == 0 {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// flushMeta persists the last-written times changed since the last flush
// as rows of last_written (the highest time of an id wins). The caller holds
// writeMu.
func (s *Store) flushMeta(ctx context.Context) error {
	if len(s.dirty) == 0 && len(s.dirtyCols) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(s.dirty)+len(s.dirtyCols))
	s.mu.RLock()
	for id, ts := range s.dirty {
		rows = append(rows, []any{lwDataset, id, uint64(ts)})
	}
	for id, ts := range s.dirtyCols {
		rows = append(rows, []any{lwColumn, id, uint64(ts)})
	}
	s.mu.RUnlock()
	if err := s.insert(ctx, "last_written", "kind, id, ts", rows); err != nil {
		return fmt.Errorf("persist last-written times: %w", err)
	}
	clear(s.dirty)
	clear(s.dirtyCols)
	s.metaFlushedAt = time.Now()
	return nil
}
