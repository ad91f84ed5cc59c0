package wire

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Encoding is a body's Content-Encoding.
type Encoding uint8

// The supported encodings.
const (
	Identity Encoding = iota
	Gzip
	Zstd
)

// String returns the canonical header value ("" for Identity).
func (e Encoding) String() string {
	switch e {
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return ""
}

// ParseEncoding parses a Content-Encoding header value. It accepts "" and
// "identity", "gzip" and "x-gzip", "zstd" and "zst" (Honeycomb's docs list
// both spellings), case-insensitively.
func ParseEncoding(h string) (Encoding, error) {
	h = strings.TrimSpace(h)
	switch {
	case h == "", strings.EqualFold(h, "identity"):
		return Identity, nil
	case strings.EqualFold(h, "gzip"), strings.EqualFold(h, "x-gzip"):
		return Gzip, nil
	case strings.EqualFold(h, "zstd"), strings.EqualFold(h, "zst"):
		return Zstd, nil
	}
	return Identity, fmt.Errorf("%w: %q", ErrUnsupportedEncoding, h)
}

// maxZstdWindow bounds the window a zstd frame may ask for; 8 MiB is what the
// zstd RFC recommends decoders support, and far above the 64 KiB libhoney-go
// uses.
const maxZstdWindow = 8 << 20

var (
	gzipPool sync.Pool // *gzip.Reader
	zstdPool sync.Pool // *zstd.Decoder
)

// decompressor returns a reader of the decompressed r and a function that
// returns the decompressor to its pool.
func decompressor(enc Encoding, r io.Reader) (io.Reader, func(), error) {
	switch enc {
	case Gzip:
		zr, _ := gzipPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(r)
		} else {
			err = zr.Reset(r)
		}
		if err != nil {
			if zr != nil {
				gzipPool.Put(zr)
			}
			return nil, nil, err
		}
		return zr, func() { gzipPool.Put(zr) }, nil
	case Zstd:
		zd, _ := zstdPool.Get().(*zstd.Decoder)
		if zd == nil {
			var err error
			// Concurrency 1 decodes synchronously in the calling goroutine,
			// so a pooled decoder holds no goroutines.
			zd, err = zstd.NewReader(nil,
				zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderMaxWindow(maxZstdWindow),
				zstd.WithDecoderMaxMemory(1<<30))
			if err != nil {
				return nil, nil, fmt.Errorf("new zstd decoder: %w", err)
			}
		}
		if err := zd.Reset(r); err != nil {
			zstdPool.Put(zd)
			return nil, nil, err
		}
		return zd, func() {
			_ = zd.Reset(nil)
			zstdPool.Put(zd)
		}, nil
	}
	return r, func() {}, nil
}
