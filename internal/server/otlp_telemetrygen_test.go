package server

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// telemetrygenVersion is a telemetrygen release whose dependencies resolve
// with Go 1.26.
const telemetrygenVersion = "v0.161.0"

// TestTelemetrygen sends a fixed number of traces with the collector's
// telemetrygen tool over OTLP/gRPC and OTLP/HTTP and counts them. It is
// opt-in (WAGGLE_TELEMETRYGEN=1) because it installs telemetrygen with
// `go install`, which downloads and builds a few hundred modules; set
// TELEMETRYGEN to a prebuilt binary to skip the install.
func TestTelemetrygen(t *testing.T) {
	if os.Getenv("WAGGLE_TELEMETRYGEN") == "" {
		t.Skip("set WAGGLE_TELEMETRYGEN=1 to run telemetrygen (installs it with go install)")
	}
	bin := os.Getenv("TELEMETRYGEN")
	if bin == "" {
		dir := t.TempDir()
		cmd := exec.Command("go", "install", "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@"+telemetrygenVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("install telemetrygen: %v\n%s", err, out)
		}
		bin = filepath.Join(dir, "telemetrygen")
	}
	n := startSDKNode(t)
	const traces = 25 // telemetrygen's default trace has 2 spans
	for _, c := range []struct{ service, endpoint, proto string }{
		{"tgen-grpc", n.srv.OTLPGRPCAddr(), "--otlp-insecure"},
		{"tgen-http", n.srv.OTLPHTTPAddr(), "--otlp-http"},
	} {
		args := []string{"traces", "--traces", strconv.Itoa(traces), "--otlp-endpoint", c.endpoint,
			"--otlp-header", `x-honeycomb-team="` + sdkKey + `"`, "--service", c.service, "--rate", "0"}
		if c.proto == "--otlp-http" {
			args = append(args, "--otlp-http", "--otlp-insecure")
		} else {
			args = append(args, "--otlp-insecure")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("telemetrygen %v: %v\n%s", args, err, out)
		}
		data := n.query(t, c.service, `{"calculations":[{"op":"COUNT"},{"op":"COUNT_DISTINCT","column":"trace.trace_id"}],"time_range":7200}`)
		var rows []row
		_ = json.Unmarshal(data["results"], &rows)
		if len(rows) != 1 || rows[0].Data["COUNT"] != float64(2*traces) || rows[0].Data["COUNT_DISTINCT(trace.trace_id)"] != float64(traces) {
			t.Errorf("%s: %v, want %d spans in %d traces", c.service, rows, 2*traces, traces)
		}
	}
}
