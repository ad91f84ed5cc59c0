package meta

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
)

// masterKeyLen is the AES-256 key length.
const masterKeyLen = 32

// sealVersion prefixes every sealed value, so the format (or the master key)
// can change later without guessing what old rows hold.
const sealVersion byte = 1

// errUnseal means a sealed value could not be opened: wrong master key or a
// damaged row.
var errUnseal = errors.New("cannot decrypt secret: wrong master key or damaged data")

// secretBox seals secrets that must be recoverable with AES-256-GCM.
type secretBox struct {
	aead cipher.AEAD
}

// loadOrCreateMasterKey reads the hex-encoded master key at path, creating it
// with a fresh random key and mode 0600 if it does not exist. created reports
// whether it did.
func loadOrCreateMasterKey(path string) (box *secretBox, created bool, err error) {
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		key := make([]byte, masterKeyLen)
		if _, err := rand.Read(key); err != nil {
			return nil, false, fmt.Errorf("generate master key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("create master key file: %w", err)
		}
		_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
		serr := f.Sync()
		cerr := f.Close()
		if err := errors.Join(werr, serr, cerr); err != nil {
			_ = os.Remove(path)
			return nil, false, fmt.Errorf("write master key file: %w", err)
		}
		box, err := newSecretBox(key)
		return box, true, err
	case err != nil:
		return nil, false, fmt.Errorf("read master key file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		slog.Warn("master key file is readable by other users; chmod 600 it", "path", path, "mode", fi.Mode().Perm().String())
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) != masterKeyLen {
		return nil, false, fmt.Errorf("master key file %s: want %d hex-encoded bytes", path, masterKeyLen)
	}
	box, err = newSecretBox(key)
	return box, false, err
}

func newSecretBox(key []byte) (*secretBox, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return &secretBox{aead: aead}, nil
}

// seal encrypts plaintext bound to aad (the row's identity, so a sealed value
// cannot be moved to another row). The result is version || nonce || ciphertext.
func (b *secretBox) seal(plaintext, aad []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+b.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	return b.aead.Seal(out, out[1:], plaintext, aad), nil
}

// open decrypts what seal produced with the same aad.
func (b *secretBox) open(sealed, aad []byte) ([]byte, error) {
	ns := b.aead.NonceSize()
	if len(sealed) < 1+ns+b.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errUnseal
	}
	pt, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, errUnseal
	}
	return pt, nil
}
