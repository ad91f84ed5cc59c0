package server

import (
	"context"
	"net"
	"net/http"

	"github.com/waggle-hq/waggle/internal/honeycomb"
	"github.com/waggle-hq/waggle/internal/tenant"
	"github.com/waggle-hq/waggle/internal/traceapi"
	"github.com/waggle-hq/waggle/internal/ui"
	"github.com/waggle-hq/waggle/internal/users"
)

// mountUI serves the web UI on the main HTTP listener: the embedded app at
// /ui/, its session API at /ui/api/ (the Honeycomb query and trace APIs
// mounted again behind a login session instead of an API key), and
// BubbleUp. With no user yet it logs a one-time setup link that creates the
// owner.
func (s *Server) mountUI(ctx context.Context, mux *http.ServeMux) error {
	us := users.New(s.Meta, s.Tenants, s.Bootstrap.Team.ID, s.log.With("component", "users"))
	catalog := honeycomb.NewQueryCatalog(s.Store)
	h := &ui.Handler{
		Users:   us,
		Meta:    s.Meta,
		Engine:  s.Engine,
		KeyAuth: s.Tenants,
		Tenants: s.Tenants,
		Log:     s.log.With("component", "ui"),
		MountAPIs: func(mux *http.ServeMux, auth tenant.Authenticator) {
			// The management routes (keys, environments, dataset
			// settings) need the tenant administration behind Auth.
			admin := sessionAdmin{Service: s.Tenants, auth: auth}
			(&honeycomb.API{Store: s.Store, Pipeline: s.Pipeline, Auth: admin, Engine: s.Engine,
				Alerting: &honeycomb.Alerting{DB: s.Meta},
				Log:      s.log.With("component", "honeycomb", "via", "ui")}).Register(mux)
			(&traceapi.API{Store: s.Store, Engine: s.Engine, Catalog: catalog, Auth: auth,
				Log: s.log.With("component", "traceapi", "via", "ui")}).Register(mux)
			if s.cloudwatch != nil {
				s.cloudwatch.RegisterUI(mux, auth)
			}
			if s.rollbar != nil {
				s.rollbar.api.RegisterUI(mux, auth)
			}
		},
	}
	if s.rollbar != nil {
		h.RollbarTokens = s.rollbar.tokens
	}
	h.Register(mux)
	if err := us.CleanExpired(ctx); err != nil {
		s.log.Warn("web UI: delete expired sessions", "err", err)
	}
	tok, err := us.NewSetupToken(ctx)
	if err != nil {
		return err
	}
	if tok != "" {
		host, port, _ := net.SplitHostPort(s.HTTPAddr())
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			host = "localhost"
		}
		link := "http://" + net.JoinHostPort(host, port) + "/ui/setup#token=" + tok
		s.log.Warn("web UI: no user yet; open this one-time link (valid 24 h) to create the owner account", "setup_url", link)
	}
	return nil
}

// sessionAdmin is the tenant administration with the session's
// Authenticator: the Honeycomb management API finds the administration
// behind its Auth, while the principal is the logged-in user's.
type sessionAdmin struct {
	*tenant.Service
	auth tenant.Authenticator
}

func (a sessionAdmin) Authenticate(ctx context.Context, secret string) (*tenant.Principal, error) {
	return a.auth.Authenticate(ctx, secret)
}
