package meta

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Claims on notification deliveries. Nodes sharing the database each run a
// notify.Deliverer; a node sends a pending delivery only while it holds the
// delivery's claim: claimed_by (the node's holder id, as for leases) and
// claimed_until_us (expiry in microseconds since the epoch by the database
// server's clock; 0 means unclaimed). Claiming, renewing, recording an
// attempt and releasing are each one UPDATE of the delivery's row that
// compares and sets, so of two nodes claiming one delivery exactly one wins.
// A claim also names the attempt it is for (the attempts recorded before
// it): a node that saw the delivery before another node recorded an attempt
// cannot claim it again for the same attempt. A node that dies stops
// renewing; its claims expire and the deliveries become claimable again.

// ClaimNotifyDelivery claims the pending delivery id for holder for ttl, for
// the attempt after attempts recorded ones. It reports whether holder holds
// the claim now: false means the delivery is no longer pending, another
// attempt was recorded meanwhile, or another holder's claim has not expired.
func (db *DB) ClaimNotifyDelivery(ctx context.Context, id int64, attempts int, holder string, ttl time.Duration) (bool, error) {
	if holder == "" {
		return false, errors.New("meta: claim notification delivery: empty holder")
	}
	if ttl < time.Millisecond {
		return false, fmt.Errorf("meta: claim notification delivery %d: ttl %v below 1ms", id, ttl)
	}
	nowUS := db.dialect.nowMicros()
	var n int64
	err := db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx,
			`UPDATE notify_deliveries SET claimed_by = $2, claimed_until_us = `+nowUS+` + CAST($3 AS BIGINT)
			 WHERE id = $1 AND status = 'pending' AND attempts = $4
			   AND COALESCE(claimed_until_us, 0) <= `+nowUS,
			id, holder, ttl.Microseconds(), attempts)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("meta: claim notification delivery %d: %w", id, err)
	}
	return n == 1, nil
}

// RenewNotifyClaim extends holder's claim on delivery id to ttl from now. It
// reports false when holder no longer holds it (another holder claimed it
// after it expired, or the delivery is no longer pending).
func (db *DB) RenewNotifyClaim(ctx context.Context, id int64, holder string, ttl time.Duration) (bool, error) {
	nowUS := db.dialect.nowMicros()
	var n int64
	err := db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx,
			`UPDATE notify_deliveries SET claimed_until_us = `+nowUS+` + CAST($3 AS BIGINT)
			 WHERE id = $1 AND status = 'pending' AND claimed_by = $2 AND COALESCE(claimed_until_us, 0) > 0`,
			id, holder, ttl.Microseconds())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("meta: renew claim on notification delivery %d: %w", id, err)
	}
	return n == 1, nil
}

// FinishNotifyAttempt records an attempt as UpdateNotifyDelivery does and
// releases holder's claim, in one statement, if holder still holds the
// claim. It reports false, having written nothing, when holder does not (the
// claim expired and another holder took it).
func (db *DB) FinishNotifyAttempt(ctx context.Context, d NotifyDelivery, holder string) (bool, error) {
	var n int64
	err := db.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx,
			`UPDATE notify_deliveries SET status = $2, attempts = $3, last_status = $4, last_error = $5,
				next_attempt_at = $6, updated_at = $7, claimed_by = '', claimed_until_us = 0
			 WHERE id = $1 AND status = 'pending' AND claimed_by = $8 AND COALESCE(claimed_until_us, 0) > 0`,
			d.ID, d.Status, d.Attempts, d.LastStatus, d.LastError, d.NextAttemptAt.UTC(), now(), holder)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("meta: record notification delivery %d: %w", d.ID, err)
	}
	return n == 1, nil
}

// ReleaseNotifyClaim gives up holder's claim on delivery id without
// recording an attempt, so another holder may claim it at once. Releasing a
// claim one does not hold is not an error.
func (db *DB) ReleaseNotifyClaim(ctx context.Context, id int64, holder string) error {
	return db.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx,
			`UPDATE notify_deliveries SET claimed_by = '', claimed_until_us = 0 WHERE id = $1 AND claimed_by = $2`,
			id, holder); err != nil {
			return fmt.Errorf("meta: release claim on notification delivery %d: %w", id, err)
		}
		return nil
	})
}

// ClaimableNotifyDeliveries lists at most limit pending deliveries due by
// due (next_attempt_at) that nobody holds a claim on (never claimed,
// released, or expired by the database's clock), the longest due first.
func (db *DB) ClaimableNotifyDeliveries(ctx context.Context, due time.Time, limit int) ([]NotifyDelivery, error) {
	rows, err := db.q.QueryContext(ctx,
		`SELECT `+notifyDeliveryCols+` FROM notify_deliveries
		 WHERE status = 'pending' AND next_attempt_at <= $1
		   AND COALESCE(claimed_until_us, 0) <= `+db.dialect.nowMicros()+`
		 ORDER BY next_attempt_at, id LIMIT $2`, due.UTC(), limit)
	if err != nil {
		return nil, fmt.Errorf("meta: list claimable notification deliveries: %w", err)
	}
	return collect(rows, scanNotifyDelivery, "list claimable notification deliveries")
}

// NotifyClaim returns who holds a claim on delivery id and for how long
// still by the database's clock ("" and 0 or less when nobody does).
func (db *DB) NotifyClaim(ctx context.Context, id int64) (holder string, remaining time.Duration, err error) {
	var remainingUS int64
	err = db.q.QueryRowContext(ctx,
		`SELECT COALESCE(claimed_by, ''), CASE WHEN COALESCE(claimed_until_us, 0) = 0 THEN 0
		   ELSE claimed_until_us - `+db.dialect.nowMicros()+` END
		 FROM notify_deliveries WHERE id = $1`, id).Scan(&holder, &remainingUS)
	if err != nil {
		return "", 0, notFound(err, fmt.Sprintf("notification delivery %d", id))
	}
	if remainingUS <= 0 {
		return "", 0, nil
	}
	return holder, time.Duration(remainingUS) * time.Microsecond, nil
}
