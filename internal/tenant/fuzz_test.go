package tenant

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/waggle-hq/waggle/internal/meta/metatest"
)

// FuzzAuthenticate feeds arbitrary header values to ParseCredential and
// Authenticate: neither may panic, and only the real secret, in one of its
// accepted forms, may authenticate.
func FuzzAuthenticate(f *testing.F) {
	s, _, secret := bootstrapped(f, metatest.New(f, "duckdb"))
	p, err := s.Authenticate(context.Background(), secret)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"", " ", "Bearer ", "bearer x", secret, "Bearer " + secret, p.KeyID + ":" + secret,
		"wki_:", ":", "wki_abc:def:ghi", "\x00\xff", strings.Repeat("a", 2000), "wgk_" + strings.Repeat("Z", 40),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		_, parsed, ok := ParseCredential(header)
		got, err := s.Authenticate(context.Background(), header)
		if err != nil {
			if !errors.Is(err, ErrUnknownKey) || got != nil {
				t.Fatalf("Authenticate(%q) = %v, %v", header, got, err)
			}
			return
		}
		if !ok || parsed != secret || got.KeyID != p.KeyID {
			t.Fatalf("Authenticate(%q) accepted a value that is not the secret", header)
		}
	})
}
