package tenant

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/waggle-hq/waggle/internal/meta/metatest"
)

func TestAuthenticateForms(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		s, env, _ := bootstrapped(t, b)
		k, secret := mustKey(t, s, env.ID, PermSendEvents)
		other, _ := mustKey(t, s, env.ID)
		tests := []struct {
			name     string
			header   string
			wantOK   bool
			wantPerm bool
		}{
			{"bare", secret, true, true},
			{"bearer", "Bearer " + secret, true, true},
			{"id and secret", k.ID + ":" + secret, true, true},
			{"bearer id and secret", "Bearer " + k.ID + ":" + secret, true, true},
			{"another key's id", other.ID + ":" + secret, false, false},
			{"empty", "", false, false},
			{"wrong", secret + "x", false, false},
			{"prefix", secret[:len(secret)-1], false, false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p, err := s.Authenticate(ctx, tc.header)
				if !tc.wantOK {
					if !errors.Is(err, ErrUnknownKey) || p != nil {
						t.Fatalf("Authenticate = %v, %v; want ErrUnknownKey", p, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if p.KeyID != k.ID || p.Env.ID != env.ID || p.Team.Slug != DefaultSlug || p.Kind != KindAPI {
					t.Fatalf("principal = %+v", p)
				}
				if p.Can(PermSendEvents) != tc.wantPerm || p.Can(PermRunQueries) {
					t.Fatalf("perms = %v", p.Perms)
				}
			})
		}
	})
}

func TestSecretNeverStored(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		s, db := newTestService(t, b)
		res, err := s.Bootstrap(ctx, BootstrapOptions{APIKey: "operator-chosen-secret-123456"})
		if err != nil {
			t.Fatal(err)
		}
		k, secret := mustKey(t, s, res.Environment.ID, PermSendEvents)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		raw := b.AtRest(t)
		if !metatest.Holds(raw, []byte(k.ID)) {
			t.Fatal("key id not in the database at rest: the check below would prove nothing")
		}
		for _, sec := range []string{secret, secret[len(SecretPrefix):], "operator-chosen-secret-123456"} {
			if metatest.Holds(raw, []byte(sec)) {
				t.Fatalf("secret %q found in the database at rest", sec)
			}
		}
		h := HashSecret(secret)
		if !metatest.Holds(raw, h[:]) {
			t.Error("the secret's hash is not in the database at rest")
		}
	})
}

func TestCacheInvalidation(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		s, env, _ := bootstrapped(t, b)
		k, secret := mustKey(t, s, env.ID, PermSendEvents, PermRunQueries)
		auth := func() *Principal {
			t.Helper()
			p, err := s.Authenticate(ctx, secret)
			if err != nil && !errors.Is(err, ErrUnknownKey) {
				t.Fatal(err)
			}
			return p
		}
		if auth() == nil {
			t.Fatal("new key does not authenticate")
		}

		yes, no := true, false
		if _, err := s.UpdateKey(ctx, env.ID, k.ID, KeyUpdate{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		if auth() != nil {
			t.Fatal("disabled key still authenticates")
		}
		if _, err := s.UpdateKey(ctx, env.ID, k.ID, KeyUpdate{Disabled: &no}); err != nil {
			t.Fatal(err)
		}
		if auth() == nil {
			t.Fatal("re-enabled key does not authenticate")
		}

		perms := []Permission{PermSendEvents}
		if _, err := s.UpdateKey(ctx, env.ID, k.ID, KeyUpdate{Perms: &perms}); err != nil {
			t.Fatal(err)
		}
		if p := auth(); p == nil || p.Can(PermRunQueries) || !p.Can(PermSendEvents) {
			t.Fatalf("after narrowing permissions: %+v", p)
		}

		name := "renamed"
		if _, err := s.UpdateKey(ctx, env.ID, k.ID, KeyUpdate{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if p := auth(); p == nil || p.KeyName != "renamed" {
			t.Fatalf("after rename: %+v", p)
		}

		if err := s.DeleteKey(ctx, env.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if auth() != nil {
			t.Fatal("deleted key still authenticates")
		}
		if _, err := s.Key(ctx, env.ID, k.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted key: err = %v", err)
		}
	})
}

// TestAuthenticateWithoutDatabase shows the steady state needs no database:
// authentication keeps working with the database closed.
func TestAuthenticateWithoutDatabase(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		s, db := newTestService(t, b)
		res, err := s.Bootstrap(ctx, BootstrapOptions{AWSAccessKeyID: "AKIATEST", AWSSecretAccessKey: "aws-secret"})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, res.GeneratedSecret); err != nil {
			t.Fatalf("Authenticate with the database closed: %v", err)
		}
		if env, secret, err := s.AWSCredential(ctx, "AKIATEST"); err != nil || secret != "aws-secret" || env.ID != res.Environment.ID {
			t.Fatalf("AWSCredential = %+v, %q, %v", env, secret, err)
		}
	})
}

func TestKeysAreScopedToTheirEnvironment(t *testing.T) {
	metatest.Each(t, func(t *testing.T, mb *metatest.Backend) {
		ctx := context.Background()
		s, a, _ := bootstrapped(t, mb)
		b, err := s.CreateEnvironment(ctx, a.Team, EnvironmentSpec{Name: "Staging"})
		if err != nil {
			t.Fatal(err)
		}
		if b.Slug != "staging" {
			t.Errorf("slug = %q", b.Slug)
		}
		kb, secretB := mustKey(t, s, b.ID, PermSendEvents)
		if _, err := s.Key(ctx, a.ID, kb.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Key from another env: err = %v", err)
		}
		yes := true
		if _, err := s.UpdateKey(ctx, a.ID, kb.ID, KeyUpdate{Disabled: &yes}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateKey from another env: err = %v", err)
		}
		if err := s.DeleteKey(ctx, a.ID, kb.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeleteKey from another env: err = %v", err)
		}
		keysA, err := s.Keys(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keysA {
			if k.ID == kb.ID {
				t.Error("Keys of env A lists env B's key")
			}
		}
		p, err := s.Authenticate(ctx, secretB)
		if err != nil || p.Env.ID != b.ID {
			t.Fatalf("env B key: %+v, %v", p, err)
		}
	})
}

func TestEnvironmentLifecycle(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		s, def, _ := bootstrapped(t, b)
		if _, err := s.CreateEnvironment(ctx, def.Team, EnvironmentSpec{Name: "Default"}); !errors.Is(err, ErrConflict) {
			t.Fatalf("duplicate slug: err = %v", err)
		}
		if _, err := s.CreateEnvironment(ctx, def.Team, EnvironmentSpec{Name: " "}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("blank name: err = %v", err)
		}
		env, err := s.CreateEnvironment(ctx, def.Team, EnvironmentSpec{Name: "Prod", DeleteProtected: true})
		if err != nil {
			t.Fatal(err)
		}
		_, secret := mustKey(t, s, env.ID, PermSendEvents)
		if _, err := s.SetAWSCredential(ctx, env.ID, "AKIAPROD", "prod-secret"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteEnvironment(ctx, env.ID); !errors.Is(err, ErrDeleteProtected) {
			t.Fatalf("delete protected: err = %v", err)
		}
		newName, off := "Production", false
		up, err := s.UpdateEnvironment(ctx, env.ID, EnvironmentUpdate{Name: &newName, DeleteProtected: &off})
		if err != nil || up.Name != "Production" || up.Slug != "prod" || up.DeleteProtected {
			t.Fatalf("UpdateEnvironment = %+v, %v", up, err)
		}
		if p, err := s.Authenticate(ctx, secret); err != nil || p.Env.Name != "Production" {
			t.Fatalf("principal after rename = %+v, %v", p, err)
		}
		if err := s.DeleteEnvironment(ctx, env.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, secret); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("key of deleted env: err = %v", err)
		}
		if _, _, err := s.AWSCredential(ctx, "AKIAPROD"); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("AWS credential of deleted env: err = %v", err)
		}
		envs, err := s.Environments(ctx, def.Team)
		if err != nil || len(envs) != 1 || envs[0].ID != def.ID {
			t.Fatalf("Environments = %+v, %v", envs, err)
		}
	})
}

func TestCreateKeyValidation(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		s, env, _ := bootstrapped(t, b)
		tests := map[string]struct {
			env  Environment
			spec KeySpec
			want error
		}{
			"unknown permission": {env, KeySpec{Perms: []Permission{"fly"}}, ErrInvalid},
			"unknown kind":       {env, KeySpec{Kind: "rollbar"}, ErrInvalid},
			"short secret":       {env, KeySpec{Secret: "abc"}, ErrInvalid},
			"unknown env":        {Environment{ID: 999}, KeySpec{}, ErrNotFound},
		}
		for name, tc := range tests {
			if _, _, err := s.CreateKey(ctx, tc.env.ID, tc.spec); !errors.Is(err, tc.want) {
				t.Errorf("%s: err = %v, want %v", name, err, tc.want)
			}
		}
		if _, _, err := s.CreateKey(ctx, env.ID, KeySpec{Secret: "same-secret-twice"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateKey(ctx, env.ID, KeySpec{Secret: "same-secret-twice"}); !errors.Is(err, ErrConflict) {
			t.Errorf("reused secret: err = %v", err)
		}
	})
}

func TestAWSCredentials(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		s, db := newTestService(t, b)
		res, err := s.Bootstrap(ctx, BootstrapOptions{})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateEnvironment(ctx, res.Team.ID, EnvironmentSpec{Name: "other"})
		if err != nil {
			t.Fatal(err)
		}
		const secret = "very/secret+aws/KEY0123456789"
		if _, err := s.SetAWSCredential(ctx, res.Environment.ID, "AKIA0001", secret); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetAWSCredential(ctx, other.ID, "AKIA0001", "x"); !errors.Is(err, ErrConflict) {
			t.Fatalf("id taken by another env: err = %v", err)
		}
		if _, err := s.SetAWSCredential(ctx, other.ID, "AKIA 2", "x"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad id: err = %v", err)
		}
		p, got, err := s.AWSPrincipal(ctx, "AKIA0001")
		if err != nil || got != secret || p.Env.ID != res.Environment.ID || p.Kind != KindAWS || !p.Can(PermSendEvents) {
			t.Fatalf("AWSPrincipal = %+v, %q, %v", p, got, err)
		}
		if err := s.DeleteAWSCredential(ctx, other.ID, "AKIA0001"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete from another env: err = %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if raw := b.AtRest(t); metatest.Holds(raw, []byte(secret)) {
			t.Fatal("AWS secret in plain text in the database at rest")
		}

		db2 := b.Open(t)
		s2, err := NewService(ctx, db2, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, got, err := s2.AWSCredential(ctx, "AKIA0001"); err != nil || got != secret {
			t.Fatalf("after reopen: %q, %v", got, err)
		}
		if err := s2.DeleteAWSCredential(ctx, res.Environment.ID, "AKIA0001"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s2.AWSCredential(ctx, "AKIA0001"); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("deleted credential: err = %v", err)
		}
	})
}

// TestConcurrentAuthenticate runs authentication alongside key changes; run
// with -race.
func TestConcurrentAuthenticate(t *testing.T) {
	metatest.Each(t, func(t *testing.T, b *metatest.Backend) {
		ctx := context.Background()
		s, env, secret := bootstrapped(t, b)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := s.Authenticate(ctx, secret); err != nil {
						t.Errorf("Authenticate: %v", err)
						return
					}
				}
			}()
		}
		for range 10 {
			k, _ := mustKey(t, s, env.ID, PermSendEvents)
			if err := s.DeleteKey(ctx, env.ID, k.ID); err != nil {
				t.Error(err)
			}
		}
		close(stop)
		wg.Wait()
	})
}
