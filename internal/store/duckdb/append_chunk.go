package duckdb

import (
	"errors"
	"fmt"
	"reflect"
	"syscall"
	"unsafe"

	"github.com/duckdb/duckdb-go/v2/mapping"

	"github.com/waggle-hq/waggle/internal/event"
)

// chunkAppender appends rows to one table through DuckDB's C appender,
// writing values straight into the vectors of a data chunk: no value is
// boxed and no call crosses into C per value. duckdb-go's Appender.AppendRow
// costs a driver.Value per value and a cgo call per string and per NULL,
// which was a third of the write path's CPU.
//
// Strings longer than DuckDB inlines (12 bytes) point into an arena of
// memory mapped outside the Go heap, so no Go pointer is ever stored in C
// memory; DuckDB copies the chunk (strings included) when it is appended, so
// the arena is reused for the next chunk.
type chunkAppender struct {
	app   mapping.Appender
	chunk mapping.DataChunk
	kinds []event.Type
	// data and valid address each column's values and validity mask in the
	// current chunk; a nil mask marks a column that is never NULL.
	data     []unsafe.Pointer
	valid    [][]uint64
	nullable []bool
	cap      int
	rows     int
	arena    arena
}

// rawConn returns the C connection behind a duckdb-go driver connection.
// duckdb-go does not export it; the field is read by reflection and its type
// checked, so a duckdb-go that changes it fails here, loudly, and in the
// package's tests, rather than misbehaving.
func rawConn(dc any) (mapping.Connection, error) {
	v := reflect.ValueOf(dc)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		f := v.Elem().FieldByName("conn")
		if f.IsValid() && f.Type() == reflect.TypeFor[mapping.Connection]() {
			c := *(*mapping.Connection)(unsafe.Pointer(f.UnsafeAddr()))
			if c.Ptr != nil {
				return c, nil
			}
		}
	}
	return mapping.Connection{}, fmt.Errorf("duckdb-go connection %T has no C connection where expected", dc)
}

func duckType(t event.Type) mapping.Type {
	switch t {
	case event.TypeString:
		return mapping.TypeVarchar
	case event.TypeFloat:
		return mapping.TypeDouble
	case event.TypeBool:
		return mapping.TypeBoolean
	}
	return mapping.TypeBigInt
}

// newChunkAppender opens an appender on catalog.main.table for the named
// columns of the given kinds, inside the connection's open transaction.
// nullable[i] false promises that column i gets a value in every row.
func newChunkAppender(conn mapping.Connection, catalog, table string, cols []string, kinds []event.Type, nullable []bool) (*chunkAppender, error) {
	a := &chunkAppender{kinds: kinds, nullable: nullable}
	if mapping.AppenderCreateExt(conn, catalog, "main", table, &a.app) == mapping.StateError {
		err := errors.New(mapping.AppenderError(a.app))
		mapping.AppenderDestroy(&a.app)
		return nil, err
	}
	for _, c := range cols {
		if mapping.AppenderAddColumn(a.app, c) == mapping.StateError {
			err := fmt.Errorf("column %s: %s", c, mapping.AppenderError(a.app))
			mapping.AppenderDestroy(&a.app)
			return nil, err
		}
	}
	types := make([]mapping.LogicalType, len(kinds))
	for i, k := range kinds {
		types[i] = mapping.CreateLogicalType(duckType(k))
	}
	a.chunk = mapping.CreateDataChunk(types)
	for i := range types {
		mapping.DestroyLogicalType(&types[i])
	}
	a.cap = int(mapping.VectorSize())
	a.data = make([]unsafe.Pointer, len(kinds))
	a.valid = make([][]uint64, len(kinds))
	a.begin()
	return a, nil
}

// begin prepares an empty chunk: every nullable value NULL, every value
// zeroed (DuckDB compares inlined strings including their padding).
func (a *chunkAppender) begin() {
	for i, k := range a.kinds {
		vec := mapping.DataChunkGetVector(a.chunk, mapping.IdxT(i))
		a.data[i] = mapping.VectorGetData(vec)
		switch k {
		case event.TypeString:
			clear(unsafe.Slice((*[16]byte)(a.data[i]), a.cap))
		case event.TypeBool:
			clear(unsafe.Slice((*byte)(a.data[i]), a.cap))
		default:
			clear(unsafe.Slice((*uint64)(a.data[i]), a.cap))
		}
		if a.nullable[i] {
			mapping.VectorEnsureValidityWritable(vec)
			a.valid[i] = unsafe.Slice((*uint64)(mapping.VectorGetValidity(vec)), a.cap/64)
			clear(a.valid[i])
		} else {
			a.valid[i] = nil
		}
	}
	a.rows = 0
}

// next starts a row and returns its index in the chunk; values of the row
// are set with the set methods, and columns left unset are NULL.
func (a *chunkAppender) next() (int, error) {
	if a.rows == a.cap {
		if err := a.flushChunk(); err != nil {
			return 0, err
		}
	}
	a.rows++
	return a.rows - 1, nil
}

func (a *chunkAppender) markValid(col, row int) {
	if m := a.valid[col]; m != nil {
		m[row>>6] |= 1 << (row & 63)
	}
}

func (a *chunkAppender) setInt(col, row int, v int64) {
	*(*int64)(unsafe.Add(a.data[col], row*8)) = v
	a.markValid(col, row)
}

func (a *chunkAppender) setFloat(col, row int, v float64) {
	*(*float64)(unsafe.Add(a.data[col], row*8)) = v
	a.markValid(col, row)
}

func (a *chunkAppender) setBool(col, row int, v bool) {
	var b byte
	if v {
		b = 1
	}
	*(*byte)(unsafe.Add(a.data[col], row)) = b
	a.markValid(col, row)
}

// setString writes a duckdb_string_t: length, then either the string inlined
// (up to 12 bytes) or its first 4 bytes and a pointer to a copy in the arena.
// s must be valid UTF-8 (resolve repairs it), as DuckDB requires.
func (a *chunkAppender) setString(col, row int, s string) {
	slot := (*[16]byte)(unsafe.Add(a.data[col], row*16))
	*(*uint32)(unsafe.Pointer(&slot[0])) = uint32(len(s))
	if len(s) <= 12 {
		copy(slot[4:], s)
	} else {
		copy(slot[4:8], s[:4])
		*(*uintptr)(unsafe.Pointer(&slot[8])) = a.arena.copy(s)
	}
	a.markValid(col, row)
}

func (a *chunkAppender) flushChunk() error {
	if a.rows == 0 {
		return nil
	}
	mapping.DataChunkSetSize(a.chunk, mapping.IdxT(a.rows))
	if mapping.AppendDataChunk(a.app, a.chunk) == mapping.StateError {
		return errors.New(mapping.AppenderError(a.app))
	}
	mapping.DataChunkReset(a.chunk)
	a.arena.reset()
	a.begin()
	return nil
}

// close appends what is buffered and releases the appender; after an error
// (or with abort) nothing more is appended and the transaction must be
// rolled back.
func (a *chunkAppender) close() error {
	err := a.flushChunk()
	if err == nil && mapping.AppenderClose(a.app) == mapping.StateError {
		err = errors.New(mapping.AppenderError(a.app))
	}
	if err != nil {
		mapping.AppenderClear(a.app)
	}
	mapping.AppenderDestroy(&a.app)
	mapping.DestroyDataChunk(&a.chunk)
	a.arena.free()
	return err
}

// arena is memory for strings outside the Go heap (anonymous mappings).
type arena struct {
	blocks [][]byte
	cur    int // block being filled
	off    int // offset in it
}

const arenaBlock = 1 << 20

// copy copies s into the arena and returns its address.
func (ar *arena) copy(s string) uintptr {
	for {
		if ar.cur < len(ar.blocks) {
			b := ar.blocks[ar.cur]
			if len(b)-ar.off >= len(s) {
				p := b[ar.off : ar.off+len(s)]
				copy(p, s)
				ar.off += len(s)
				return uintptr(unsafe.Pointer(unsafe.SliceData(p)))
			}
			if ar.cur+1 < len(ar.blocks) && len(ar.blocks[ar.cur+1]) >= len(s) {
				ar.cur++
				ar.off = 0
				continue
			}
		}
		size := max(arenaBlock, (len(s)+arenaBlock-1)/arenaBlock*arenaBlock)
		b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
		if err != nil {
			panic(fmt.Sprintf("duckdb store: map %d bytes for strings: %v", size, err))
		}
		// Insert after the current block, so blocks already filled in this
		// chunk stay where they are.
		at := min(ar.cur+1, len(ar.blocks))
		if len(ar.blocks) == 0 {
			at = 0
		}
		ar.blocks = append(ar.blocks, nil)
		copy(ar.blocks[at+1:], ar.blocks[at:])
		ar.blocks[at] = b
		ar.cur, ar.off = at, 0
	}
}

// reset makes the arena's memory reusable, returning to the system what
// exceeds a few blocks.
func (ar *arena) reset() {
	const keep = 4
	for len(ar.blocks) > keep {
		last := len(ar.blocks) - 1
		syscall.Munmap(ar.blocks[last])
		ar.blocks = ar.blocks[:last]
	}
	ar.cur, ar.off = 0, 0
}

func (ar *arena) free() {
	for _, b := range ar.blocks {
		syscall.Munmap(b)
	}
	ar.blocks = nil
	ar.cur, ar.off = 0, 0
}
