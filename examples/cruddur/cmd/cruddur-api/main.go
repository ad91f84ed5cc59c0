// Command cruddur-api is the Cruddur backend API (the bootcamp's
// backend-flask, in Go), instrumented with OpenTelemetry, AWS X-Ray,
// CloudWatch Logs and Rollbar and configured only by their environment
// variables (see package app). It listens on PORT (default 4567).
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/waggle-hq/waggle/examples/cruddur/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, app.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cruddur-api:", err)
		os.Exit(1)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "4567"
	}
	srv := &http.Server{Addr: ":" + port, Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = a.Shutdown(sctx)
	}()
	a.Log.Info("cruddur-api listening", "addr", srv.Addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "cruddur-api:", err)
		os.Exit(1)
	}
	<-ctx.Done()
	time.Sleep(100 * time.Millisecond)
}
