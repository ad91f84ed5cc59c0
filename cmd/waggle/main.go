// Command waggle is a self-hosted observability server: one binary that takes
// Honeycomb, OpenTelemetry, X-Ray, CloudWatch Logs and Rollbar traffic and
// answers queries over all of it.
package main

import (
	"os"

	"github.com/waggle-hq/waggle/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args, os.Stdout, os.Stderr))
}
