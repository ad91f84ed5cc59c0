package honeycomb

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
)

// Query result ids describe their run, so that any node can answer GET
// /1/query_results/{dataset}/{id}, not only the one that ran the POST: the
// id holds the saved query's id, the run's options and the instant that
// anchored its time range (from which the absolute start and end follow),
// authenticated with an HMAC keyed by a secret shared through the metadata
// database. A node that does not have the result in memory checks the MAC,
// loads the saved query from meta and runs it again over the same absolute
// range. Clients cannot forge ids (ranges or options of their own), and an id
// is valid only in the environment and dataset it was issued for.
//
// Layout (before base64url without padding):
//
//	version (1 byte, 1) | flags (1 byte) | limit (varint) | anchor (varint, Unix ns) | saved query id | MAC (16 bytes)

const (
	resultIDVersion = 1
	resultMACSize   = 16

	flagDisableSeries = 1 << iota
	flagDisableTotalByAggregate
	flagDisableOtherByAggregate

	// resultKeySetting is the settings row holding the HMAC key (base64).
	resultKeySetting = "honeycomb.query_result_key"
	// resultKeyLease serializes the key's creation between nodes.
	resultKeyLease = "honeycomb.query_result_key.init"
)

// resultRun is what a result id describes: enough to compute the result
// again.
type resultRun struct {
	QueryID string
	Opts    query.Options // Now is the anchor
}

// encodeResultID returns the id of run in env's dataset (slug or __all__).
func encodeResultID(key []byte, env event.EnvID, dataset string, run resultRun) string {
	b := make([]byte, 0, 64)
	b = append(b, resultIDVersion, runFlags(run.Opts))
	b = binary.AppendVarint(b, int64(run.Opts.Limit))
	b = binary.AppendVarint(b, run.Opts.Now.UnixNano())
	b = append(b, run.QueryID...)
	b = append(b, resultMAC(key, env, dataset, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeResultID checks id's MAC for env's dataset and returns its run.
func decodeResultID(key []byte, env event.EnvID, dataset, id string) (resultRun, bool) {
	if len(id) > 256 {
		return resultRun{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) < 2+resultMACSize || b[0] != resultIDVersion {
		return resultRun{}, false
	}
	body, mac := b[:len(b)-resultMACSize], b[len(b)-resultMACSize:]
	if !hmac.Equal(mac, resultMAC(key, env, dataset, body)) {
		return resultRun{}, false
	}
	flags, rest := body[1], body[2:]
	limit, n := binary.Varint(rest)
	if n <= 0 {
		return resultRun{}, false
	}
	rest = rest[n:]
	anchor, n := binary.Varint(rest)
	if n <= 0 || len(rest[n:]) == 0 {
		return resultRun{}, false
	}
	return resultRun{QueryID: string(rest[n:]), Opts: query.Options{
		DisableSeries:           flags&flagDisableSeries != 0,
		DisableTotalByAggregate: flags&flagDisableTotalByAggregate != 0,
		DisableOtherByAggregate: flags&flagDisableOtherByAggregate != 0,
		Limit:                   int(limit),
		Now:                     time.Unix(0, anchor).UTC(),
	}}, true
}

func runFlags(o query.Options) byte {
	var f byte
	if o.DisableSeries {
		f |= flagDisableSeries
	}
	if o.DisableTotalByAggregate {
		f |= flagDisableTotalByAggregate
	}
	if o.DisableOtherByAggregate {
		f |= flagDisableOtherByAggregate
	}
	return f
}

// resultMAC authenticates body for env's dataset.
func resultMAC(key []byte, env event.EnvID, dataset string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], uint64(env))
	m.Write([]byte("waggle query result\x00"))
	m.Write(e[:])
	m.Write([]byte(dataset))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)[:resultMACSize]
}

// resultKeys holds the HMAC key of result ids: the deployment's, kept in
// the metadata database's settings and created by the first node that needs
// it, or, without a metadata database, one of this process's own. The zero
// value is ready to use.
type resultKeys struct {
	mu  sync.Mutex
	key []byte
}

// get returns the key, loading (or creating) it on first use.
func (k *resultKeys) get(ctx context.Context, db *meta.DB) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, nil
	}
	if db == nil {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("query result key: %w", err)
		}
		k.key = key
		return key, nil
	}
	key, err := loadResultKey(ctx, db)
	if err != nil {
		return nil, err
	}
	k.key = key
	return key, nil
}

// loadResultKey reads the deployment's key from meta, creating it if there
// is none yet. Creation happens under a lease, so that nodes starting
// together agree on one key rather than overwrite each other's.
func loadResultKey(ctx context.Context, db *meta.DB) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	holder := meta.NewHolderID()
	for {
		v, ok, err := db.Setting(ctx, resultKeySetting)
		if err != nil {
			return nil, fmt.Errorf("query result key: %w", err)
		}
		if ok {
			key, err := base64.StdEncoding.DecodeString(v)
			if err != nil || len(key) < 16 {
				return nil, errors.New("query result key: the setting " + resultKeySetting + " is not a base64 key of at least 16 bytes")
			}
			return key, nil
		}
		got, err := db.AcquireLease(ctx, resultKeyLease, holder, 10*time.Second)
		if err != nil {
			return nil, fmt.Errorf("query result key: %w", err)
		}
		if got {
			err := createResultKey(ctx, db)
			// Give the lease up even when ctx is done.
			_ = db.ReleaseLease(context.WithoutCancel(ctx), resultKeyLease, holder)
			if err != nil {
				return nil, err
			}
			continue // read back what is stored
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("query result key: another node is creating it: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// createResultKey stores a new key unless one exists; the caller holds the
// creation lease.
func createResultKey(ctx context.Context, db *meta.DB) error {
	if _, ok, err := db.Setting(ctx, resultKeySetting); err != nil || ok {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("query result key: %w", err)
	}
	if err := db.SetSetting(ctx, resultKeySetting, base64.StdEncoding.EncodeToString(key)); err != nil {
		return fmt.Errorf("query result key: %w", err)
	}
	return nil
}
