package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/waggle-hq/waggle/internal/notify"
	"github.com/waggle-hq/waggle/internal/rollbar"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// rollbarNode is the Rollbar API's running parts.
type rollbarNode struct {
	api    *rollbar.API
	items  *rollbar.Items
	tokens *tenant.RollbarTokens
	notify *notify.Deliverer
}

// mountRollbar starts the Rollbar API (items, tokens, webhook delivery) and
// mounts it on mux.
func (s *Server) mountRollbar(ctx context.Context, mux *http.ServeMux) error {
	log := s.log.With("component", "rollbar")
	tokens, err := tenant.NewRollbarTokens(ctx, s.Tenants, 0)
	if err != nil {
		return fmt.Errorf("rollbar tokens: %w", err)
	}
	n := &rollbarNode{tokens: tokens}
	n.items = rollbar.NewItems(s.Meta, log)
	n.notify = notify.New(s.Meta, notify.Options{Logger: s.log.With("component", "notify")})
	if err := n.notify.Start(ctx); err != nil {
		log.Error("resume notification deliveries", "err", err)
	}
	n.api = &rollbar.API{
		Store: s.Store, Pipeline: s.Pipeline, Tokens: tokens, Items: n.items, Notify: n.notify,
		Log: log, BaseURL: "http://" + s.HTTPAddr(),
	}
	n.api.Register(mux)
	s.rollbar = n
	return nil
}

// closeRollbar stops the Rollbar API's background work; call it after the
// HTTP server stopped and before the metadata closes.
func (s *Server) closeRollbar() {
	n := s.rollbar
	if n == nil {
		return
	}
	n.items.Close()
	n.api.Close()
	n.notify.Close()
	n.tokens.Close()
}
