package tenant

import (
	"context"
	"errors"
	"testing"

	"github.com/waggle-hq/waggle/internal/meta/metatest"
)

// restart opens the metadata database b again and returns a new Service,
// as a server restart would.
func restart(t testing.TB, b *metatest.Backend) *Service {
	t.Helper()
	db := b.Open(t)
	s, err := NewService(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBootstrapFirstStartPrintsKeyOnce(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		s := restart(t, b)
		first, err := s.Bootstrap(ctx, BootstrapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !first.FirstStart || first.GeneratedKey == nil || first.GeneratedSecret == "" {
			t.Fatalf("first start result = %+v", first)
		}
		if first.Team.Slug != DefaultSlug || first.Environment.Slug != DefaultSlug || first.Environment.Name != "Default" {
			t.Fatalf("team/env = %+v %+v", first.Team, first.Environment)
		}
		p, err := s.Authenticate(ctx, first.GeneratedSecret)
		if err != nil {
			t.Fatal(err)
		}
		for _, perm := range AllPermissions {
			if !p.Can(perm) {
				t.Errorf("generated key lacks %s", perm)
			}
		}

		for range 2 {
			s = restart(t, b)
			again, err := s.Bootstrap(ctx, BootstrapOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if again.FirstStart || again.GeneratedKey != nil || again.GeneratedSecret != "" {
				t.Fatalf("later start made a key: %+v", again)
			}
			if again.Team != first.Team || again.Environment.ID != first.Environment.ID {
				t.Fatalf("later start changed tenancy: %+v", again)
			}
			if _, err := s.Authenticate(ctx, first.GeneratedSecret); err != nil {
				t.Fatalf("first key after restart: %v", err)
			}
		}
		keys, err := s.Keys(ctx, first.Environment.ID)
		if err != nil || len(keys) != 1 {
			t.Fatalf("keys = %+v, %v", keys, err)
		}
	})
}

func TestBootstrapAPIKeyIdempotent(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		const k1, k2 = "operator-key-number-one", "operator-key-number-two"
		steps := []struct {
			key       string
			wantAdded bool
			wantKeys  int
		}{
			{k1, true, 1}, // first start with a key: no generated key
			{k1, false, 1},
			{k2, true, 2}, // changed: the new one is added
			{k2, false, 2},
			{"", false, 2}, // unset later: nothing generated
		}
		var env Environment
		for i, st := range steps {
			s := restart(t, b)
			res, err := s.Bootstrap(ctx, BootstrapOptions{APIKey: st.key})
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			env = res.Environment
			if res.APIKeyAdded != st.wantAdded || res.GeneratedSecret != "" {
				t.Fatalf("step %d: result %+v", i, res)
			}
			keys, err := s.Keys(ctx, env.ID)
			if err != nil || len(keys) != st.wantKeys {
				t.Fatalf("step %d: keys = %+v, %v", i, keys, err)
			}
			if st.key != "" {
				p, err := s.Authenticate(ctx, st.key)
				if err != nil || p.KeyName != EnvAPIKeyName || !p.Can(PermManageKeys) {
					t.Fatalf("step %d: Authenticate = %+v, %v", i, p, err)
				}
			}
		}
		s := restart(t, b)
		if _, err := s.Authenticate(ctx, k1); err != nil {
			t.Fatalf("old WAGGLE_API_KEY stopped working: %v", err)
		}
	})
}

func TestBootstrapRespectsDisabledAPIKey(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		const key = "operator-key-to-disable"
		s := restart(t, b)
		res, err := s.Bootstrap(ctx, BootstrapOptions{APIKey: key})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Authenticate(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		yes := true
		if _, err := s.UpdateKey(ctx, res.Environment.ID, p.KeyID, KeyUpdate{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		s = restart(t, b)
		if _, err := s.Bootstrap(ctx, BootstrapOptions{APIKey: key}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, key); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("restart re-enabled a disabled key: %v", err)
		}
	})
}

func TestBootstrapAWS(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		for _, secret := range []string{"first-secret", "first-secret", "rotated-secret"} {
			s := restart(t, b)
			res, err := s.Bootstrap(ctx, BootstrapOptions{AWSAccessKeyID: "AKIADEFAULT", AWSSecretAccessKey: secret})
			if err != nil {
				t.Fatal(err)
			}
			env, got, err := s.AWSCredential(ctx, "AKIADEFAULT")
			if err != nil || got != secret || env.ID != res.Environment.ID {
				t.Fatalf("AWSCredential = %+v, %q, %v; want secret %q", env, got, err, secret)
			}
		}
		s := restart(t, b)
		if _, err := s.Bootstrap(ctx, BootstrapOptions{AWSAccessKeyID: "AKIAONLY"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("id without secret: err = %v", err)
		}
		if _, err := s.Bootstrap(ctx, BootstrapOptions{APIKey: "short"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("short API key: err = %v", err)
		}
	})
}

func TestBootstrapRecreatesDeletedDefaultEnvironment(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		s := restart(t, b)
		res, err := s.Bootstrap(ctx, BootstrapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteEnvironment(ctx, res.Environment.ID); err != nil {
			t.Fatal(err)
		}
		s = restart(t, b)
		again, err := s.Bootstrap(ctx, BootstrapOptions{APIKey: "recovery-key-123456"})
		if err != nil {
			t.Fatal(err)
		}
		if again.Environment.ID == res.Environment.ID || again.GeneratedSecret != "" {
			t.Fatalf("result = %+v", again)
		}
		if p, err := s.Authenticate(ctx, "recovery-key-123456"); err != nil || p.Env.ID != again.Environment.ID {
			t.Fatalf("recovery key: %+v, %v", p, err)
		}
	})
}

func TestBootstrapOptionsFromEnv(t *testing.T) {
	env := map[string]string{
		"WAGGLE_API_KEY": "k", "WAGGLE_AWS_ACCESS_KEY_ID": "id", "WAGGLE_AWS_SECRET_ACCESS_KEY": "s",
	}
	got := BootstrapOptionsFromEnv(func(k string) string { return env[k] })
	if got != (BootstrapOptions{APIKey: "k", AWSAccessKeyID: "id", AWSSecretAccessKey: "s"}) {
		t.Fatalf("BootstrapOptionsFromEnv = %+v", got)
	}
}
