package meta

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
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

// keySource says where the master key comes from.
type keySource struct {
	// value is Options.MasterKey: base64 key or key file path.
	value string
	// defaultFile is the key file created on first use when value is empty;
	// empty means a key must be configured.
	defaultFile string
}

// load returns the master key's box and, when it created the default key
// file, that file's path.
func (k keySource) load() (box *secretBox, createdFile string, err error) {
	v := strings.TrimSpace(k.value)
	if v == "" {
		if k.defaultFile == "" {
			return nil, "", errors.New("a master key is required: set WAGGLE_MASTER_KEY to the same 32 random bytes in base64 on every node (openssl rand -base64 32), or to the path of a file holding them")
		}
		box, created, err := loadOrCreateMasterKey(k.defaultFile)
		if created {
			createdFile = k.defaultFile
		}
		return box, createdFile, err
	}
	if key, ok := decodeKey(v); ok {
		box, err := newSecretBox(key)
		return box, "", err
	}
	raw, err := os.ReadFile(v)
	if err != nil {
		return nil, "", fmt.Errorf("master key: neither %d bytes in base64 nor a readable key file: %w", masterKeyLen, err)
	}
	if fi, err := os.Stat(v); err == nil && fi.Mode().Perm()&0o077 != 0 {
		slog.Warn("master key file is readable by other users; chmod 600 it", "path", v, "mode", fi.Mode().Perm().String())
	}
	key, ok := decodeKey(strings.TrimSpace(string(raw)))
	if !ok {
		return nil, "", fmt.Errorf("master key file %s: want %d bytes, hex- or base64-encoded", v, masterKeyLen)
	}
	box, err = newSecretBox(key)
	return box, "", err
}

// decodeKey decodes a master key written in hex or in (standard or URL-safe,
// padded or not) base64.
func decodeKey(s string) ([]byte, bool) {
	if len(s) == 2*masterKeyLen {
		if b, err := hex.DecodeString(s); err == nil {
			return b, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == masterKeyLen {
			return b, true
		}
	}
	return nil, false
}

// masterKeyCheckSetting is the settings row holding a value sealed under the
// master key, so a node given another key is refused at start rather than
// failing on every secret later.
const masterKeyCheckSetting = "meta.master_key_check"

var masterKeyCheckPlain = []byte("waggle master key check")

// checkMasterKey makes sure db.box opens what the database holds sealed,
// and records a check value the first time. createdFile is the key file that
// loading the key just created, if any.
func (db *DB) checkMasterKey(ctx context.Context, createdFile string) error {
	wrong := func() error {
		if createdFile != "" {
			return fmt.Errorf("master key file %s is missing but the database holds secrets sealed with a master key: restore the key file from backup", createdFile)
		}
		return errors.New("the master key does not match the one this database's secrets were sealed with: give every node the same master key")
	}
	aad := []byte("settings:" + masterKeyCheckSetting)
	verify := func(v string) bool {
		sealed, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return false
		}
		pt, err := db.box.open(sealed, aad)
		return err == nil && string(pt) == string(masterKeyCheckPlain)
	}
	n, err := db.countAWSCredentials(ctx)
	if err != nil {
		return err
	}
	v, ok, err := db.Setting(ctx, masterKeyCheckSetting)
	if err != nil {
		return err
	}
	if ok && verify(v) {
		return nil
	}
	if n > 0 {
		// The credentials decide: an old database has no check value yet, and
		// a check value alone may be stale (see below).
		if _, err := db.AllAWSCredentials(ctx); err != nil {
			if errors.Is(err, errUnseal) {
				return wrong()
			}
			return err
		}
	} else if ok && createdFile == "" {
		// A configured key that differs from the recorded one, even with no
		// secret stored yet: refuse, or nodes would seal with different keys.
		return wrong()
	}
	// Record (or, for a lost default key file guarding no secret, replace)
	// the check value. Nodes starting at once race here: the first wins, and
	// the re-read below refuses the others if their key differs.
	sealed, err := db.box.seal(masterKeyCheckPlain, aad)
	if err != nil {
		return err
	}
	err = db.write(ctx, func(q querier) error {
		stmt := `INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`
		if ok {
			stmt = `UPDATE settings SET value = $2, updated_at = $3 WHERE name = $1`
		}
		_, err := q.ExecContext(ctx, stmt, masterKeyCheckSetting, base64.StdEncoding.EncodeToString(sealed), now())
		return err
	})
	if err != nil {
		return fmt.Errorf("record master key check: %w", err)
	}
	if v, _, err = db.Setting(ctx, masterKeyCheckSetting); err != nil {
		return err
	}
	if !verify(v) {
		return wrong()
	}
	return nil
}
