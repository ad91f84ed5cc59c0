// Package cli implements waggle's command line: `waggle serve`, `waggle query`
// and `waggle version`. cmd/waggle only calls Main.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/waggle-hq/waggle/internal/cli/querycmd"
)

// version is set at build time with -ldflags "-X .../internal/cli.version=v1.2.3".
var version = ""

const usage = `waggle — one binary for events, traces, logs and errors.

Usage:
  waggle serve [flags]     run the server (see 'waggle serve -h')
  waggle query [flags]     run a query against a running server (see 'waggle query -h')
  waggle demo [flags]      waggle with the instrumented Cruddur app and load (see 'waggle demo -h')
  waggle export [flags]    write the embedded store's events to a file (see docs/deploy/scale-out.md)
  waggle import [flags]    read such a file into a store, e.g. ClickHouse
  waggle migrate-store     copy events between stores: --from duckdb:DIR --to clickhouse://…
  waggle version           print the version
`

// Main runs the command named by args[1] and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[1] {
	case "serve":
		err = serve(ctx, args[2:], stdout, stderr)
	case "query":
		err = querycmd.Run(ctx, args[2:], stdout, stderr)
	case "demo":
		err = demo(ctx, args[2:], stdout, stderr) // demo.go: waggle + the Cruddur app + load
	case "export":
		err = exportCmd(ctx, args[2:], stdout, stderr)
	case "import":
		err = importCmd(ctx, args[2:], stdout, stderr)
	case "migrate-store":
		err = migrateStoreCmd(ctx, args[2:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "waggle", Version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "waggle: unknown command %q\n\n%s", args[1], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "waggle:", err)
		return 1
	}
	return 0
}

// Version is the build's version: the linker-set one, else the module version.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
