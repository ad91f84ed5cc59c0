package tenant

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"strings"
)

// KeyKind is the kind of a credential, which says what protocol it is for.
type KeyKind string

// The kinds of credentials.
const (
	// KindAPI is a waggle API key, used with the Honeycomb API and waggle's own.
	KindAPI KeyKind = "api"
	// KindAWS is an AWS-style access key pair used to sign SigV4 requests.
	KindAWS KeyKind = "aws"
)

// Key formats. A secret is SecretPrefix and SecretChars random base62
// characters (about 238 bits); a key id is KeyIDPrefix and KeyIDChars random
// base62 characters (about 95 bits).
const (
	SecretPrefix = "wgk_"
	SecretChars  = 40
	KeyIDPrefix  = "wki_"
	KeyIDChars   = 16
	// MaxSecretLen is the longest presented credential considered at all;
	// longer ones are rejected without hashing.
	MaxSecretLen = 1024
	// MinSecretLen is the shortest secret an operator may configure.
	MinSecretLen = 8
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomBase62 returns n characters drawn uniformly from base62 with
// crypto/rand (rejection sampling keeps the distribution uniform).
func randomBase62(n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		for _, b := range buf {
			if b < 248 { // 248 = 4*62: keep only bytes that map evenly
				out = append(out, base62[b%62])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out), nil
}

// NewSecret returns a fresh random API key secret.
func NewSecret() (string, error) {
	s, err := randomBase62(SecretChars)
	if err != nil {
		return "", err
	}
	return SecretPrefix + s, nil
}

// NewKeyID returns a fresh random public key id.
func NewKeyID() (string, error) {
	s, err := randomBase62(KeyIDChars)
	if err != nil {
		return "", err
	}
	return KeyIDPrefix + s, nil
}

// HashSecret returns the stored form of a secret: its SHA-256 digest.
//
// A plain, unsalted fast hash is right here, unlike for passwords: generated
// secrets carry about 238 random bits, so no dictionary or brute-force attack
// on a leaked hash is feasible, and a deterministic hash lets Authenticate find
// a key with one map lookup on every ingest request instead of running a slow
// KDF per key. Operator-chosen secrets (WAGGLE_API_KEY) are only as strong as
// the operator makes them; Bootstrap warns about short ones.
func HashSecret(secret string) [sha256.Size]byte {
	return sha256.Sum256([]byte(secret))
}

// ParseCredential extracts the secret, and the key id if one was given, from a
// presented header value. It accepts a bare secret, "Bearer <secret>" and
// Honeycomb's v2 form "<key id>:<secret>" (with or without "Bearer "), the
// last only when the part before the colon looks like a key id. ok is false
// for an empty or oversized value. It never panics.
func ParseCredential(header string) (keyID, secret string, ok bool) {
	v := strings.TrimSpace(header)
	if len(v) > MaxSecretLen {
		return "", "", false
	}
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
	}
	if id, rest, found := strings.Cut(v, ":"); found && strings.HasPrefix(id, KeyIDPrefix) && isBase62(id[len(KeyIDPrefix):]) {
		keyID, v = id, rest
	}
	if v == "" {
		return "", "", false
	}
	return keyID, v, true
}

func isBase62(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(base62, rune(s[i])) {
			return false
		}
	}
	return true
}

// validSecret reports whether an operator-chosen secret can be used: long
// enough, not too long, printable ASCII without spaces (it travels in headers).
func validSecret(s string) error {
	if len(s) < MinSecretLen || len(s) > MaxSecretLen {
		return fmt.Errorf("%w: API key must be %d to %d characters", ErrInvalid, MinSecretLen, MaxSecretLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return fmt.Errorf("%w: API key must be printable ASCII without spaces", ErrInvalid)
		}
	}
	return nil
}
