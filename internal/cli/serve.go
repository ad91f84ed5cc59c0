package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/waggle-hq/waggle/internal/config"
	"github.com/waggle-hq/waggle/internal/server"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.FromEnv("waggle serve", args)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	printWelcome(stdout, cfg, srv)
	log.Info("waggle is ready", "http", srv.HTTPAddr(), "data_dir", cfg.DataDir, "version", Version())
	return srv.Run(ctx)
}

// printWelcome tells the operator where waggle listens and how to send a first
// event. A generated key is printed here, once, and never again.
func printWelcome(w io.Writer, cfg *config.Config, srv *server.Server) {
	base := "http://" + srv.HTTPAddr()
	key := "$WAGGLE_API_KEY"
	fmt.Fprintf(w, "waggle %s listening on %s (data in %s)\n", Version(), base, cfg.DataDir)
	if b := srv.Bootstrap; b.GeneratedSecret != "" {
		key = b.GeneratedSecret
		fmt.Fprintf(w, "\nAn API key with every permission was created for environment %q.\n", b.Environment.Name)
		fmt.Fprintf(w, "It is shown only this once; keep it:\n\n    %s\n", b.GeneratedSecret)
	} else if cfg.APIKey == "" {
		key = "<your API key>"
	}
	fmt.Fprintf(w, "\nSend a first event and query it:\n\n")
	fmt.Fprintf(w, "    curl -s %s/1/events/hello -H 'X-Honeycomb-Team: %s' -d '{\"endpoint\":\"/\",\"duration_ms\":12}'\n", base, key)
	fmt.Fprintf(w, "    waggle query --server %s --key %s --dataset hello --calc COUNT --calc 'P95(duration_ms)' --breakdown endpoint\n\n", base, key)
}

func newLogger(cfg *config.Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel))); err != nil {
		return nil, fmt.Errorf("log level %q: %w", cfg.LogLevel, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cfg.LogFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", cfg.LogFormat)
}
