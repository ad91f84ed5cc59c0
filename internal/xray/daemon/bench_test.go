package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/store/duckdb"
)

// udpRun sends n segments (one entity each, ~420 bytes like the SDKs')
// over loopback UDP at rate per second (0: as fast as possible) to a daemon
// that stores into DuckDB through the ingest pipeline, and counts what the
// pipeline stored (events whose submission returned: durable).
type udpResult struct {
	sent, stored             int64
	sendDur, storeDur        time.Duration
	kernelDrops, queueDrops  int64
	pipelineDrops, notParsed int64
}

func (r udpResult) String() string {
	return fmt.Sprintf("sent %d in %v (%.0f/s), stored %d (%.4f of sent) after %v (%.0f segments/s end to end); kernel drops %d, queue drops %d, pipeline drops %d, unparsed %d",
		r.sent, r.sendDur.Round(time.Millisecond), float64(r.sent)/r.sendDur.Seconds(), r.stored, float64(r.stored)/float64(r.sent),
		r.storeDur.Round(time.Millisecond), float64(r.stored)/r.storeDur.Seconds(), r.kernelDrops, r.queueDrops, r.pipelineDrops, r.notParsed)
}

// udpRcvbufErrors reads the kernel's UDP receive-buffer drop counter.
func udpRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "Udp:") && strings.HasPrefix(lines[i+1], "Udp:") {
			h, v := strings.Fields(lines[i]), strings.Fields(lines[i+1])
			for j := range h {
				if h[j] == "RcvbufErrors" && j < len(v) {
					n, _ := strconv.ParseInt(v[j], 10, 64)
					return n
				}
			}
		}
	}
	return 0
}

func udpRun(tb testing.TB, n int, rate int) udpResult {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := duckdb.Open(duckdb.Options{Dir: tb.TempDir(), MemoryLimit: 1 << 30, Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	defer st.Close()
	pipe := ingest.New(st, ingest.Config{MemoryBudget: 512 << 20, Logger: log})
	defer pipe.Close()
	d, err := Start(Config{Addr: "127.0.0.1:0", Env: 1, Pipeline: pipe, Log: log})
	if err != nil {
		tb.Fatal(err)
	}
	defer d.Close(context.Background())
	c, err := net.Dial("udp", d.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	now := time.Now()
	tid := fmt.Sprintf("1-%08x-", now.Unix())
	start := float64(now.UnixNano()) / 1e9
	// The datagrams are made before the clock starts: the SDKs' cost of
	// making them is not the daemon's (they run on other machines).
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, `{"format":"json","version":1}`+"\n"+
			`{"id":"%016x","name":"svc-%d","start_time":%.6f,"in_progress":false,"http":{"request":{"url":"http://api.example.com/api/activities/%d","method":"GET","user_agent":"bench","client_ip":"127.0.0.1"},"response":{"status":200,"content_length":12}},"trace_id":"%s%024x","aws":{"xray":{"sdk":"X-Ray for Python","sdk_version":"2.15.0"}},"annotations":{"n":%d},"end_time":%.6f}`,
			i+1, i%2, start, i%100, tid, i, i, start+0.002)
	}
	k0 := udpRcvbufErrors()
	t0 := time.Now()
	const burst = 100
	for i, msg := range msgs {
		if _, err := c.Write(msg); err != nil {
			tb.Fatal(err)
		}
		if rate > 0 && i%burst == burst-1 {
			due := t0.Add(time.Duration(float64(i+1) / float64(rate) * float64(time.Second)))
			if w := time.Until(due); w > 0 {
				time.Sleep(w)
			}
		}
	}
	r := udpResult{sent: int64(n), sendDur: time.Since(t0)}
	// Stored: wait until the count stops moving.
	last, lastAt := int64(-1), time.Now()
	for {
		s := d.Stats.Events.Load()
		if s >= int64(n) {
			break
		}
		if s != last {
			last, lastAt = s, time.Now()
		} else if time.Since(lastAt) > 2*time.Second {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	r.storeDur = time.Since(t0)
	if d.Stats.Events.Load() < int64(n) {
		r.storeDur -= 2 * time.Second
	}
	r.stored = d.Stats.Events.Load()
	r.kernelDrops = udpRcvbufErrors() - k0
	r.queueDrops = d.Stats.DroppedQueue.Load()
	r.pipelineDrops = d.Stats.DroppedPipeline.Load()
	r.notParsed = d.Stats.BadHeader.Load() + d.Stats.BadJSON.Load() + d.Stats.Invalid.Load()
	return r
}

// BenchmarkDaemonUDP sends b.N segments as fast as one sender can and
// reports what was stored per second and the fraction lost.
//
//	go test -run XXX -bench DaemonUDP -benchtime 300000x ./internal/xray/daemon
func BenchmarkDaemonUDP(b *testing.B) {
	r := udpRun(b, b.N, 0)
	b.ReportMetric(float64(r.stored)/r.storeDur.Seconds(), "stored-segments/s")
	b.ReportMetric(1-float64(r.stored)/float64(r.sent), "loss")
	b.ReportMetric(0, "ns/op")
	b.Log(r)
}

// TestDaemonUDPThroughput is the harness behind the figures in the guide:
// WAGGLE_XRAY_BENCH=1 [WAGGLE_XRAY_BENCH_RATE=60000] [WAGGLE_XRAY_BENCH_N=600000]
// sends N segments paced at RATE per second and requires that all are
// stored.
//
//	WAGGLE_XRAY_BENCH=1 go test -run DaemonUDPThroughput -v ./internal/xray/daemon
func TestDaemonUDPThroughput(t *testing.T) {
	if os.Getenv("WAGGLE_XRAY_BENCH") == "" {
		t.Skip("set WAGGLE_XRAY_BENCH=1")
	}
	rate, n := 60000, 600000
	if v, err := strconv.Atoi(os.Getenv("WAGGLE_XRAY_BENCH_RATE")); err == nil {
		rate = v
	}
	if v, err := strconv.Atoi(os.Getenv("WAGGLE_XRAY_BENCH_N")); err == nil {
		n = v
	}
	r := udpRun(t, n, rate)
	t.Log(r)
	if r.stored != r.sent {
		t.Errorf("lost %d of %d", r.sent-r.stored, r.sent)
	}
}
