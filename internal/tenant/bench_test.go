package tenant

import (
	"context"
	"testing"

	"github.com/waggle-hq/waggle/internal/meta/metatest"
)

// BenchmarkAuthenticate measures the per-request cost of authentication,
// which runs on every ingest request.
func BenchmarkAuthenticate(b *testing.B) {
	s, env, secret := bootstrapped(b, metatest.New(b, "duckdb"))
	for range 1000 {
		mustKey(b, s, env.ID, PermSendEvents)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Authenticate(ctx, secret); err != nil {
			b.Fatal(err)
		}
	}
}
