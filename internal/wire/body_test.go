package wire

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// testBudget is a Reserver that counts what is held.
type testBudget struct {
	limit int64
	used  atomic.Int64
}

func (b *testBudget) TryAcquire(n int64) bool {
	if b.limit > 0 && b.used.Load()+n > b.limit {
		return false
	}
	b.used.Add(n)
	return true
}

func (b *testBudget) Release(n int64) { b.used.Add(-n) }

func gzipBytes(tb testing.TB, p []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(p); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func zstdBytes(tb testing.TB, p []byte) []byte {
	tb.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(p, nil)
}

func TestReadBody(t *testing.T) {
	payload := []byte(strings.Repeat(`{"a":1,"b":"hello"}`, 1000))
	bomb := make([]byte, 50<<20) // 50 MB of zeros compresses to ~50 KB
	lim := Limits{MaxBytes: 5 << 20, MaxDecodedBytes: 20 << 20}
	cases := []struct {
		name    string
		enc     string
		body    []byte
		cl      int64
		lim     Limits
		want    []byte
		wantErr error
	}{
		{name: "identity", body: payload, cl: -1, lim: lim, want: payload},
		{name: "identity with length", body: payload, cl: int64(len(payload)), lim: lim, want: payload},
		{name: "identity header", enc: "identity", body: payload, cl: -1, lim: lim, want: payload},
		{name: "gzip", enc: "gzip", body: gzipBytes(t, payload), cl: -1, lim: lim, want: payload},
		{name: "gzip upper case", enc: "GZIP", body: gzipBytes(t, payload), cl: -1, lim: lim, want: payload},
		{name: "zstd", enc: "zstd", body: zstdBytes(t, payload), cl: -1, lim: lim, want: payload},
		{name: "zst", enc: "zst", body: zstdBytes(t, payload), cl: -1, lim: lim, want: payload},
		{name: "empty", body: nil, cl: -1, lim: lim, wantErr: ErrEmpty},
		{name: "empty by length", body: nil, cl: 0, lim: lim, wantErr: ErrEmpty},
		{name: "empty gzip stream", enc: "gzip", body: nil, cl: -1, lim: lim, wantErr: ErrEmpty},
		{name: "gzip of nothing", enc: "gzip", body: gzipBytes(t, nil), cl: -1, lim: lim, wantErr: ErrEmpty},
		{name: "zstd of nothing", enc: "zstd", body: zstdBytes(t, nil), cl: -1, lim: lim, wantErr: ErrEmpty},
		{name: "not gzip", enc: "gzip", body: payload, cl: -1, lim: lim, wantErr: ErrCorrupt},
		{name: "not zstd", enc: "zstd", body: payload, cl: -1, lim: lim, wantErr: ErrCorrupt},
		{name: "truncated gzip", enc: "gzip", body: gzipBytes(t, payload)[:40], cl: -1, lim: lim, wantErr: ErrCorrupt},
		{name: "unknown encoding", enc: "br", body: payload, cl: -1, lim: lim, wantErr: ErrUnsupportedEncoding},
		{name: "too large by length", body: payload, cl: 6 << 20, lim: lim, wantErr: ErrTooLarge},
		{name: "too large streamed", body: payload, cl: -1, lim: Limits{MaxBytes: 100, MaxDecodedBytes: 1000}, wantErr: ErrTooLarge},
		{name: "exactly at limit", body: payload[:100], cl: -1, lim: Limits{MaxBytes: 100}, want: payload[:100]},
		{name: "compressed too large", enc: "gzip", body: gzipBytes(t, payload), cl: -1, lim: Limits{MaxBytes: 10, MaxDecodedBytes: 1 << 20}, wantErr: ErrTooLarge},
		{name: "gzip bomb", enc: "gzip", body: gzipBytes(t, bomb), cl: -1, lim: lim, wantErr: ErrTooLarge},
		{name: "zstd bomb", enc: "zstd", body: zstdBytes(t, bomb), cl: -1, lim: lim, wantErr: ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			budget := &testBudget{}
			r := httptest.NewRequest("POST", "/", bytes.NewReader(tc.body))
			r.ContentLength = tc.cl
			if tc.enc != "" {
				r.Header.Set("Content-Encoding", tc.enc)
			}
			b, err := ReadRequest(r, tc.lim, budget)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if u := budget.used.Load(); u != 0 {
					t.Errorf("budget holds %d bytes after a failed read", u)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), tc.want) {
				t.Fatalf("body = %d bytes, want %d", len(b.Bytes()), len(tc.want))
			}
			if budget.used.Load() < int64(len(tc.want)) {
				t.Errorf("reserved %d bytes for a %d byte body", budget.used.Load(), len(tc.want))
			}
			b.Recycle()
			if b.Bytes() != nil {
				t.Error("Bytes after Recycle")
			}
			if budget.used.Load() == 0 {
				t.Error("Recycle released the reservation")
			}
			b.Release()
			b.Release()
			if u := budget.used.Load(); u != 0 {
				t.Errorf("budget holds %d bytes after Release", u)
			}
		})
	}
}

func TestReadBodyOverloaded(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 1<<20)
	for _, cl := range []int64{-1, int64(len(payload))} {
		budget := &testBudget{limit: 100 << 10}
		_, err := ReadBody(bytes.NewReader(payload), Identity, cl, Limits{MaxBytes: 5 << 20}, budget)
		if !errors.Is(err, ErrOverloaded) {
			t.Fatalf("content length %d: err = %v, want ErrOverloaded", cl, err)
		}
		if u := budget.used.Load(); u != 0 {
			t.Errorf("budget holds %d bytes", u)
		}
	}
}

func TestReadBodyReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := ReadBody(io.MultiReader(strings.NewReader("abc"), errReader{boom}), Identity, -1, Limits{}, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestParseEncoding(t *testing.T) {
	for h, want := range map[string]Encoding{"": Identity, " identity ": Identity, "gzip": Gzip, "x-gzip": Gzip, "zstd": Zstd, "ZST": Zstd} {
		got, err := ParseEncoding(h)
		if err != nil || got != want {
			t.Errorf("ParseEncoding(%q) = %v, %v; want %v", h, got, err, want)
		}
	}
	for _, h := range []string{"br", "deflate", "gzip, zstd"} {
		if _, err := ParseEncoding(h); !errors.Is(err, ErrUnsupportedEncoding) {
			t.Errorf("ParseEncoding(%q) err = %v", h, err)
		}
	}
}
