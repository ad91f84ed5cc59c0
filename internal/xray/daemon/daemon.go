// Package daemon is waggle's built-in X-Ray daemon: the SDKs' UDP segment
// protocol and the daemon's TCP port for centralized sampling, on one
// address (WAGGLE_XRAY_ADDR, default 127.0.0.1:2000), so an app needs only
// AWS_XRAY_DAEMON_ADDRESS=<that address>.
//
// UDP: each datagram is a header line ({"format":"json","version":1}, any
// spacing) and one segment document or one streamed subsegment. Datagrams
// carry no credential: everything received belongs to one environment, the
// default one unless WAGGLE_XRAY_ENV names another. Readers copy datagrams
// into a bounded queue; workers parse them, pass them through the
// xray.Assembler (in-progress documents wait for their complete version,
// streamed subsegments for their segment) and submit the events to the ingest
// pipeline in batches (up to BatchSize events, at least every FlushInterval).
// UDP has no acknowledgement, so nothing blocks a reader: a full queue or an
// overloaded pipeline drops and counts. Malformed, oversized and invalid
// datagrams are counted and dropped. Counters are published under the expvar
// "xray_daemon" (GET /debug/vars on WAGGLE_DEBUG_ADDR) and in Stats.
//
// TCP: an HTTP server answering POST /GetSamplingRules and POST
// /SamplingTargets unsigned (as the official daemon's proxy accepts them),
// chunked bodies included; any other path goes to Fallback (the X-Ray API
// served unsigned for the daemon's environment, as the official daemon
// proxies every path).
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/waggle-hq/waggle/internal/event"
	"github.com/waggle-hq/waggle/internal/ingest"
	"github.com/waggle-hq/waggle/internal/xray"
	"github.com/waggle-hq/waggle/internal/xray/sampling"
)

// Submitter stores events; *ingest.Pipeline satisfies it.
type Submitter interface {
	Submit(ctx context.Context, b event.Batch) error
}

// Config configures a Daemon.
type Config struct {
	// Addr is host:port for UDP and TCP (port 0 picks a free port, the same
	// for both).
	Addr string
	Env  event.EnvID
	// Pipeline receives the events.
	Pipeline Submitter
	// Assembler is shared with PutTraceSegments (a new one when nil).
	Assembler *xray.Assembler
	// Sampling answers the TCP sampling calls (nil: TCP off).
	Sampling *sampling.Service
	// Fallback serves other TCP paths (nil: 404).
	Fallback http.Handler
	// ReadBuffer is the socket receive buffer (SO_RCVBUF); default 16 MiB.
	ReadBuffer int
	// Readers and Workers are goroutine counts (default 2 each).
	Readers, Workers int
	// QueueLen bounds datagrams waiting for a worker (default 262144:
	// about 5 s of 50,000 segments/s beyond what the store keeps up with,
	// ~130 MB of typical 500-byte segments when full).
	QueueLen int
	// BatchSize and FlushInterval shape submissions (default 5000, 100 ms).
	BatchSize     int
	FlushInterval time.Duration
	// Submitters is how many batches may be in the pipeline at once
	// (default 4); beyond, batches are dropped.
	Submitters int
	Log        *slog.Logger
}

// Stats are the daemon's counters.
type Stats struct {
	Datagrams, Segments, Events         atomic.Int64
	BadHeader, BadJSON, Invalid, TooBig atomic.Int64
	DroppedQueue, DroppedPipeline       atomic.Int64
	Batches                             atomic.Int64
}

var published = expvar.NewMap("xray_daemon")

func (s *Stats) inc(c *atomic.Int64, name string, n int64) {
	c.Add(n)
	published.Add(name, n)
}

// Daemon is a running X-Ray daemon.
type Daemon struct {
	cfg   Config
	log   *slog.Logger
	udp   *net.UDPConn
	tcp   net.Listener
	srv   *http.Server
	queue chan []byte
	subs  chan []event.Event
	asm   *xray.Assembler
	Stats Stats

	readWG  sync.WaitGroup
	workWG  sync.WaitGroup
	subWG   sync.WaitGroup
	closing atomic.Bool
}

// Start binds the address and starts serving.
func Start(cfg Config) (*Daemon, error) {
	if cfg.ReadBuffer <= 0 {
		cfg.ReadBuffer = 16 << 20
	}
	if cfg.Readers <= 0 {
		cfg.Readers = 2
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 262144
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 5000
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 100 * time.Millisecond
	}
	if cfg.Submitters <= 0 {
		cfg.Submitters = 4
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	d := &Daemon{cfg: cfg, log: cfg.Log, asm: cfg.Assembler}
	if d.asm == nil {
		d.asm = &xray.Assembler{}
	}
	var err error
	for attempt := 0; ; attempt++ {
		if err = d.bind(); err == nil {
			break
		}
		if attempt > 20 {
			return nil, err
		}
	}
	d.queue = make(chan []byte, cfg.QueueLen)
	d.subs = make(chan []event.Event, cfg.Submitters)
	for range cfg.Readers {
		d.readWG.Add(1)
		go d.read()
	}
	for range cfg.Workers {
		d.workWG.Add(1)
		go func() { defer d.workWG.Done(); d.work() }()
	}
	for range cfg.Submitters {
		d.subWG.Add(1)
		go d.submit()
	}
	if d.tcp != nil {
		d.srv = &http.Server{Handler: d.handler(), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)}
		go func() {
			if err := d.srv.Serve(d.tcp); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("x-ray daemon tcp", "err", err)
			}
		}()
	}
	return d, nil
}

// bind opens the UDP socket and the TCP listener on the same port.
func (d *Daemon) bind() error {
	ua, err := net.ResolveUDPAddr("udp", d.cfg.Addr)
	if err != nil {
		return fmt.Errorf("x-ray daemon address %q: %w", d.cfg.Addr, err)
	}
	u, err := net.ListenUDP("udp", ua)
	if err != nil {
		return fmt.Errorf("x-ray daemon udp %s: %w", d.cfg.Addr, err)
	}
	setReadBuffer(u, d.cfg.ReadBuffer)
	if d.cfg.Sampling != nil || d.cfg.Fallback != nil {
		la := u.LocalAddr().(*net.UDPAddr)
		t, err := net.Listen("tcp", net.JoinHostPort(ua.IP.String(), fmt.Sprint(la.Port)))
		if ua.IP == nil {
			t, err = net.Listen("tcp", fmt.Sprintf(":%d", la.Port))
		}
		if err != nil {
			_ = u.Close()
			return fmt.Errorf("x-ray daemon tcp %s: %w", d.cfg.Addr, err)
		}
		d.tcp = t
	}
	d.udp = u
	return nil
}

// setReadBuffer asks for a large socket receive buffer, past rmem_max with
// SO_RCVBUFFORCE when the process may (root or CAP_NET_ADMIN).
func setReadBuffer(u *net.UDPConn, n int) {
	if rc, err := u.SyscallConn(); err == nil {
		var serr error
		_ = rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
		})
		if serr == nil {
			return
		}
	}
	_ = u.SetReadBuffer(n)
}

// Addr is the bound address (UDP; TCP has the same port).
func (d *Daemon) Addr() string { return d.udp.LocalAddr().String() }

// Assembler is the daemon's assembler.
func (d *Daemon) Assembler() *xray.Assembler { return d.asm }

func (d *Daemon) read() {
	defer d.readWG.Done()
	buf := make([]byte, 65536)
	for {
		n, _, err := d.udp.ReadFromUDP(buf)
		if err != nil {
			if d.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		d.Stats.inc(&d.Stats.Datagrams, "datagrams", 1)
		if n > xray.MaxDocument+64 {
			d.Stats.inc(&d.Stats.TooBig, "oversized", 1)
			continue
		}
		// An exact-size copy: the queue's memory is what was received
		// (~0.5 KB a segment), not a pooled buffer's capacity each.
		b := make([]byte, n)
		copy(b, buf[:n])
		select {
		case d.queue <- b:
		default:
			d.Stats.inc(&d.Stats.DroppedQueue, "dropped_queue", 1)
		}
	}
}

func (d *Daemon) work() {
	var p xray.Parser
	var batch []event.Event
	t := time.NewTicker(d.cfg.FlushInterval)
	defer t.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		select {
		case d.subs <- batch:
		default:
			// Every submitter is waiting for a commit: wait, as the queue
			// absorbs the datagrams meanwhile (and counts what it cannot),
			// then drop.
			wait := time.NewTimer(5 * time.Second)
			select {
			case d.subs <- batch:
			case <-wait.C:
				d.Stats.inc(&d.Stats.DroppedPipeline, "dropped_pipeline", int64(len(batch)))
			}
			wait.Stop()
		}
		batch = nil
	}
	for {
		select {
		case b, ok := <-d.queue:
			if !ok {
				flush()
				return
			}
			batch = d.handle(&p, b, batch)
			if len(batch) >= d.cfg.BatchSize {
				flush()
			}
		case <-t.C:
			batch = d.asm.Sweep(time.Now(), batch)
			flush()
		}
	}
}

// handle parses one datagram and appends its events.
func (d *Daemon) handle(p *xray.Parser, b []byte, out []event.Event) []event.Event {
	body, err := xray.SplitDatagram(b)
	if err != nil {
		d.Stats.inc(&d.Stats.BadHeader, "bad_header", 1)
		return out
	}
	s, err := p.Parse(body)
	if err != nil {
		var ie *xray.InvalidError
		switch {
		case errors.As(err, &ie):
			d.Stats.inc(&d.Stats.Invalid, "invalid", 1)
		case errors.Is(err, xray.ErrTooLarge):
			d.Stats.inc(&d.Stats.TooBig, "oversized", 1)
		default:
			d.Stats.inc(&d.Stats.BadJSON, "bad_json", 1)
		}
		return out
	}
	d.Stats.inc(&d.Stats.Segments, "segments", 1)
	return d.asm.Add(d.cfg.Env, s, time.Now(), out)
}

func (d *Daemon) submit() {
	defer d.subWG.Done()
	for evs := range d.subs {
		err := d.cfg.Pipeline.Submit(context.Background(), event.Batch{Env: d.cfg.Env, Events: evs})
		if err != nil {
			d.Stats.inc(&d.Stats.DroppedPipeline, "dropped_pipeline", int64(len(evs)))
			if !errors.Is(err, ingest.ErrOverloaded) && !errors.Is(err, ingest.ErrClosed) {
				d.log.Warn("x-ray daemon: submit", "events", len(evs), "err", err)
			}
			continue
		}
		d.Stats.inc(&d.Stats.Events, "events", int64(len(evs)))
		d.Stats.inc(&d.Stats.Batches, "batches", 1)
	}
}

// Close stops the listeners, processes what was received, writes what the
// assembler holds and waits for the submissions. Call it before the
// pipeline closes.
func (d *Daemon) Close(ctx context.Context) error {
	if !d.closing.CompareAndSwap(false, true) {
		return nil
	}
	if d.srv != nil {
		_ = d.srv.Shutdown(ctx)
	}
	_ = d.udp.Close()
	// Readers stop on the closed socket; then the queue drains.
	d.readWG.Wait()
	close(d.queue)
	d.workWG.Wait()
	if rest := d.asm.Flush(nil); len(rest) > 0 {
		d.subs <- rest
	}
	close(d.subs)
	d.subWG.Wait()
	return nil
}

func (d *Daemon) handler() http.Handler {
	mux := http.NewServeMux()
	if d.cfg.Sampling != nil {
		mux.HandleFunc("POST /GetSamplingRules", d.getSamplingRules)
		mux.HandleFunc("POST /SamplingTargets", d.samplingTargets)
	}
	if d.cfg.Fallback != nil {
		mux.Handle("/", d.cfg.Fallback)
	}
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	_, _ = w.Write(b)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]string{"__type": code, "message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", code)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (d *Daemon) getSamplingRules(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	recs, err := d.cfg.Sampling.Rules(r.Context(), d.cfg.Env)
	if err != nil {
		d.log.Error("x-ray daemon: sampling rules", "err", err)
		writeErr(w, 500, "InternalFailure", "could not read the sampling rules")
		return
	}
	writeJSON(w, map[string]any{"SamplingRuleRecords": recs, "NextToken": nil})
}

func (d *Daemon) samplingTargets(w http.ResponseWriter, r *http.Request) {
	var req struct {
		SamplingStatisticsDocuments []sampling.StatisticsDocument `json:"SamplingStatisticsDocuments"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeErr(w, 400, "InvalidRequestException", "could not parse the request body")
		return
	}
	res, err := d.cfg.Sampling.Targets(r.Context(), d.cfg.Env, req.SamplingStatisticsDocuments)
	if err != nil {
		d.log.Error("x-ray daemon: sampling targets", "err", err)
		writeErr(w, 500, "InternalFailure", "could not compute the sampling targets")
		return
	}
	writeJSON(w, res)
}
