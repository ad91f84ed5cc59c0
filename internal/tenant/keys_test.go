package tenant

import (
	"strings"
	"testing"
)

func TestNewSecretFormat(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		s, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, SecretPrefix) || len(s) != len(SecretPrefix)+SecretChars || !isBase62(s[len(SecretPrefix):]) {
			t.Fatalf("secret %q has the wrong format", s)
		}
		if seen[s] {
			t.Fatalf("secret %q repeated", s)
		}
		seen[s] = true
		id, err := NewKeyID()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(id, KeyIDPrefix) || len(id) != len(KeyIDPrefix)+KeyIDChars || !isBase62(id[len(KeyIDPrefix):]) {
			t.Fatalf("key id %q has the wrong format", id)
		}
	}
}

func TestParseCredential(t *testing.T) {
	tests := []struct {
		in         string
		id, secret string
		ok         bool
	}{
		{"", "", "", false},
		{"   ", "", "", false},
		{"wgk_abc", "", "wgk_abc", true},
		{"  wgk_abc \t", "", "wgk_abc", true},
		{"Bearer wgk_abc", "", "wgk_abc", true},
		{"bearer   wgk_abc", "", "wgk_abc", true},
		{"Bearer ", "", "Bearer", true},
		{"wki_AbC123:wgk_abc", "wki_AbC123", "wgk_abc", true},
		{"Bearer wki_AbC123:wgk_abc", "wki_AbC123", "wgk_abc", true},
		{"wki_AbC123:", "", "", false},
		{"wki_:wgk_abc", "", "wki_:wgk_abc", true},
		{"not-an-id:secret", "", "not-an-id:secret", true},
		{strings.Repeat("x", MaxSecretLen+1), "", "", false},
	}
	for _, tc := range tests {
		id, secret, ok := ParseCredential(tc.in)
		if id != tc.id || secret != tc.secret || ok != tc.ok {
			t.Errorf("ParseCredential(%q) = %q, %q, %v; want %q, %q, %v", tc.in, id, secret, ok, tc.id, tc.secret, tc.ok)
		}
	}
}

func TestValidSecret(t *testing.T) {
	tests := map[string]bool{
		"":                        false,
		"short":                   false,
		"long-enough-key":         true,
		"has space inside":        false,
		"tab\there-too":           false,
		"unicodé-not-allowed":     false,
		"wgk_0123456789abcdefghi": true,
	}
	for in, want := range tests {
		if got := validSecret(in) == nil; got != want {
			t.Errorf("validSecret(%q) ok = %v, want %v", in, got, want)
		}
	}
}
