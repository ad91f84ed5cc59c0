package server

import (
	"time"

	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/notify"
	"github.com/waggle-hq/waggle/internal/triggers"
)

// startTriggers returns what the Honeycomb API serves boards, markers,
// annotations, recipients, triggers and query history from, and starts the
// trigger engine in the background. The engine delivers through the node's
// one notify.Deliverer (the one mountRollbar starts: a single deliverer per
// node, so pending deliveries are resumed once); it begins once the node is
// ready and evaluates only while this node holds the "triggers" lease.
func (s *Server) startTriggers() *honeycomb.Alerting {
	ctx := s.stopContext()
	var d *notify.Deliverer
	eng := triggers.New(triggers.Options{
		DB: s.Meta, Query: s.Engine, Log: s.log.With("component", "triggers"),
		BaseURL: "http://" + s.HTTPAddr(),
		Notify:  func() *notify.Deliverer { return d },
		// The same take-over delay as retention (WAGGLE_LEASE_TTL); the tick
		// is WAGGLE_TRIGGER_TICK.
		LeaseTTL: s.leaseTTL(), Tick: s.cfg.TriggerTick,
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// Wait for New to finish (the deliverer exists once the node is
		// ready; ready is the happens-before edge for s.rollbar).
		for !s.ready.Load() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		if s.rollbar == nil || s.rollbar.notify == nil {
			s.log.Error("triggers: no notification deliverer; the trigger engine is off")
			return
		}
		d = s.rollbar.notify
		d.ConfigureSMTP(notify.SMTPConfig{Addr: s.cfg.SMTPAddr, From: s.cfg.SMTPFrom, Username: s.cfg.SMTPUsername,
			Password: s.cfg.SMTPPassword, ImplicitTLS: s.cfg.SMTPImplicitTLS})
		eng.Run(ctx)
	}()
	return &honeycomb.Alerting{DB: s.Meta}
}
