package wire

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Reserver is a memory budget request bodies are reserved in before they are
// read; *ingest.Budget satisfies it. TryAcquire must not block.
type Reserver interface {
	TryAcquire(n int64) bool
	Release(n int64)
}

// Limits bounds a request body.
type Limits struct {
	// MaxBytes is the most bytes accepted as sent on the wire (compressed or
	// not). Zero means no limit.
	MaxBytes int64
	// MaxDecodedBytes is the most bytes accepted after decompression; it
	// defeats decompression bombs. Zero means no limit. For an uncompressed
	// body the smaller of the two applies.
	MaxDecodedBytes int64
}

// Body is a request body read into memory. Its bytes are reserved in the
// Reserver given to ReadBody until Release.
type Body struct {
	buf      *[]byte
	res      Reserver
	reserved int64
}

// Bytes returns the (decompressed) body. The slice is valid until Recycle or
// Release.
func (b *Body) Bytes() []byte {
	if b == nil || b.buf == nil {
		return nil
	}
	return *b.buf
}

// Recycle returns the body's buffer for reuse but keeps its bytes reserved:
// call it once the body is decoded, and Release once the decoded data is
// gone. Bytes returns nil afterwards.
func (b *Body) Recycle() {
	if b == nil || b.buf == nil {
		return
	}
	putBuf(b.buf)
	b.buf = nil
}

// Release recycles the buffer and returns the reservation. It is safe to
// call more than once.
func (b *Body) Release() {
	if b == nil {
		return
	}
	b.Recycle()
	if b.res != nil && b.reserved > 0 {
		b.res.Release(b.reserved)
	}
	b.reserved = 0
}

// ReleaseReservation returns the reservation but keeps the buffer.
func (b *Body) ReleaseReservation() {
	if b == nil {
		return
	}
	if b.res != nil && b.reserved > 0 {
		b.res.Release(b.reserved)
	}
	b.reserved = 0
}

// ReadRequest reads r's body as ReadBody does, taking the encoding from the
// Content-Encoding header and the expected size from Content-Length.
func ReadRequest(r *http.Request, lim Limits, res Reserver) (*Body, error) {
	enc, err := ParseEncoding(r.Header.Get("Content-Encoding"))
	if err != nil {
		return nil, err
	}
	if r.Body == nil {
		return nil, ErrEmpty
	}
	return ReadBody(r.Body, enc, r.ContentLength, lim, res)
}

// reserveStep is how many bytes are reserved at a time while a body of
// unknown size is read.
const reserveStep = 256 << 10

// ReadBody reads and decompresses a body into memory. contentLength is the
// expected size as sent (-1 when unknown); a known one over lim.MaxBytes fails
// at once without reading. Memory is reserved in res (which may be nil) as
// the body grows, so a body that does not fit fails early with ErrOverloaded.
// The caller must Release the returned Body.
func ReadBody(r io.Reader, enc Encoding, contentLength int64, lim Limits, res Reserver) (*Body, error) {
	if lim.MaxBytes > 0 && contentLength > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes sent, limit %d", ErrTooLarge, contentLength, lim.MaxBytes)
	}
	if contentLength == 0 {
		return nil, ErrEmpty
	}
	raw := &limitedReader{r: r, n: lim.MaxBytes}
	if lim.MaxBytes <= 0 {
		raw.n = -1
	}
	maxDecoded := lim.MaxDecodedBytes
	if enc == Identity && lim.MaxBytes > 0 && (maxDecoded <= 0 || lim.MaxBytes < maxDecoded) {
		maxDecoded = lim.MaxBytes
	}

	// Size hint: the decompressed size is unknown; guess 4x the sent size.
	hint := int64(64 << 10)
	if contentLength > 0 {
		hint = contentLength + 1
		if enc != Identity {
			hint = 4 * contentLength
		}
	}
	if maxDecoded > 0 && hint > maxDecoded+1 {
		hint = maxDecoded + 1
	}

	b := &Body{res: res}
	if res != nil {
		if !res.TryAcquire(hint) {
			return nil, ErrOverloaded
		}
		b.reserved = hint
	}

	src, done, err := decompressor(enc, raw)
	if err != nil {
		b.Release()
		return nil, classify(err, raw, enc)
	}
	b.buf = getBuf(int(hint))
	err = b.readAll(src, maxDecoded)
	done()
	if err != nil {
		b.Release()
		return nil, classify(err, raw, enc)
	}
	if len(*b.buf) == 0 {
		b.Release()
		return nil, ErrEmpty
	}
	return b, nil
}

// errDecodedTooLarge is readAll's signal that maxDecoded was passed.
var errDecodedTooLarge = errors.New("decoded body too large")

func (b *Body) readAll(src io.Reader, maxDecoded int64) error {
	buf := *b.buf
	defer func() { *b.buf = buf }()
	for {
		if maxDecoded > 0 && int64(len(buf)) > maxDecoded {
			return errDecodedTooLarge
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		if b.res != nil && int64(len(buf)) >= b.reserved {
			if !b.res.TryAcquire(reserveStep) {
				return ErrOverloaded
			}
			b.reserved += reserveStep
		}
		end := cap(buf)
		if b.res != nil && int64(end) > b.reserved {
			end = int(b.reserved)
		}
		if maxDecoded > 0 && int64(end) > maxDecoded+1 {
			end = int(maxDecoded + 1)
		}
		n, err := src.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if maxDecoded > 0 && int64(len(buf)) > maxDecoded {
				return errDecodedTooLarge
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// classify turns a read or decompression error into one of the package's
// errors.
func classify(err error, raw *limitedReader, enc Encoding) error {
	switch {
	case raw.exceeded, errors.Is(err, errDecodedTooLarge):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.Is(err, ErrOverloaded):
		return err
	case enc != Identity && raw.read == 0 && (err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)):
		return ErrEmpty
	case enc != Identity:
		return fmt.Errorf("%w (%s): %v", ErrCorrupt, enc, err)
	}
	return fmt.Errorf("read request body: %w", err)
}

// limitedReader reads at most n bytes (n < 0: unlimited) and fails with
// ErrTooLarge, remembering it, when there are more.
type limitedReader struct {
	r        io.Reader
	n        int64
	read     int64
	exceeded bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.exceeded {
		return 0, ErrTooLarge
	}
	if l.n >= 0 {
		if l.read >= l.n {
			// Probe for one more byte to tell "exactly n" from "more".
			var one [1]byte
			k, err := l.r.Read(one[:])
			if k > 0 {
				l.exceeded = true
				return 0, ErrTooLarge
			}
			return 0, err
		}
		if rem := l.n - l.read; int64(len(p)) > rem {
			p = p[:rem]
		}
	}
	k, err := l.r.Read(p)
	l.read += int64(k)
	return k, err
}

// maxPooledBuf is the largest buffer kept for reuse.
const maxPooledBuf = 8 << 20

var bufPool sync.Pool // *[]byte

func getBuf(size int) *[]byte {
	if p, ok := bufPool.Get().(*[]byte); ok {
		if cap(*p) >= size {
			*p = (*p)[:0]
			return p
		}
		bufPool.Put(p)
	}
	b := make([]byte, 0, size)
	return &b
}

func putBuf(p *[]byte) {
	if cap(*p) > maxPooledBuf {
		return
	}
	*p = (*p)[:0]
	bufPool.Put(p)
}
