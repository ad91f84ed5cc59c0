package main

import (
	"bytes"
	"context"
	"fmt"

	"log"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/waggle-hq/waggle/internal/event"
)

// ingestConfig is one ingest run.
type ingestConfig struct {
	Bin      string
	Encoding string // "zstd" or "none"
	Clients  int
	Batch    int // events per request body
	Bodies   int // distinct pre-encoded bodies, replayed round robin
	Duration time.Duration
	Events   int64 // when > 0, stop after this many events were sent instead
	TmpDir   string
	// Protocol is "batch" (Honeycomb /1/batch JSON) or "otlp" (OTLP/HTTP
	// protobuf to /v1/traces, Encoding "none" or "gzip").
	Protocol string
	// Store is "duckdb" (embedded) or "clickhouse"; Nodes waggle processes
	// share it (ClickHouse only), each started with NodeEnv.
	Store   string
	Nodes   int
	NodeEnv []string
	// StoreCPU, when set, is the CPU time so far of the store's own server
	// (ClickHouse), counted beside waggle's.
	StoreCPU func() time.Duration
}

// label names the run in the report.
func (c *ingestConfig) label() string {
	s := encodingLabel(c.Encoding)
	if c.Protocol == "otlp" {
		s = "OTLP protobuf"
		if c.Encoding == "gzip" {
			s += " (gzip)"
		}
	}
	if c.Store == "clickhouse" {
		s += fmt.Sprintf(", ClickHouse, %d node", c.Nodes)
		if c.Nodes > 1 {
			s += "s"
		}
	}
	return s
}

// unit is what one run counts: events or spans.
func (c *ingestConfig) unit() string {
	if c.Protocol == "otlp" {
		return "spans"
	}
	return "events"
}

// ingestResult is what one ingest run measured.
type ingestResult struct {
	Config ingestConfig

	BodyBytes     float64 // mean encoded body size
	RawBodyBytes  float64 // mean JSON body size before compression
	Requests      int64
	Throttled     int64 // 429 answers (retried)
	Acked         int64 // events acknowledged in the timed window
	AckedTotal    int64 // including the warm-up request
	Stored        int64 // COUNT over the dataset afterwards
	Wall          time.Duration
	ServerCPU     time.Duration // user+system of the server during the window
	ClientCPU     time.Duration // this process during the window
	StoreCPU      time.Duration // the store server's (ClickHouse) during the window
	PeakRSS       int64         // VmHWM of the server at the end (largest node)
	RSS           int64         // VmRSS at the end
	DiskBytes     int64
	ShutdownWall  time.Duration
	MachineBusy   float64 // average busy CPUs during the window (all processes)
	LoadAvgBefore string
	LoadAvgAfter  string
}

func (r *ingestResult) rate() float64 { return float64(r.Acked) / r.Wall.Seconds() }

func (r *ingestResult) cpuPerEvent() time.Duration {
	if r.Acked == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Acked)
}

const benchKey = "waggle-bench-key-0123456789abcdef"

const ingestDataset = "ingest-bench"

// datasets the run's events land in: the /1/batch dataset, or for OTLP one
// per service.
func (c *ingestConfig) datasets() []string {
	if c.Protocol == "otlp" {
		return services
	}
	return []string{ingestDataset}
}

// runIngest starts waggle on a fresh data directory and replays pre-encoded
// /1/batch bodies from cfg.Clients concurrent connections.
func runIngest(ctx context.Context, cfg ingestConfig) (*ingestResult, error) {
	res := &ingestResult{Config: cfg}
	// Pre-encode the bodies before the server starts, so that the work is
	// not measured. Events are spread over the hour before now.
	nEvents := int64(cfg.Bodies * cfg.Batch)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	g := newGenerator(7, start, time.Hour, nEvents)
	var enc *zstd.Encoder
	bodies := make([][]byte, cfg.Bodies)
	if cfg.Protocol == "otlp" {
		var err error
		if bodies, res.RawBodyBytes, err = otlpBodies(g, cfg.Bodies, cfg.Batch, cfg.Encoding); err != nil {
			return nil, err
		}
		var encTotal int64
		for _, b := range bodies {
			encTotal += int64(len(b))
		}
		res.BodyBytes = float64(encTotal) / float64(len(bodies))
	} else {
		if cfg.Encoding == "zstd" {
			var err error
			if enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault)); err != nil {
				return nil, err
			}
		}
		var buf []byte
		evs := make([]event.Event, cfg.Batch)
		var rawTotal, encTotal int64
		for i := range bodies {
			for j := range evs {
				evs[j] = g.next(ingestDataset)
			}
			buf = appendBatchJSON(buf[:0], evs)
			rawTotal += int64(len(buf))
			if enc != nil {
				bodies[i] = enc.EncodeAll(buf, nil)
			} else {
				bodies[i] = bytes.Clone(buf)
			}
			encTotal += int64(len(bodies[i]))
		}
		res.RawBodyBytes = float64(rawTotal) / float64(len(bodies))
		res.BodyBytes = float64(encTotal) / float64(len(bodies))
	}
	end := start.Add(time.Hour)

	var nodes []*node
	var dataDirs []string
	defer func() {
		for _, n := range nodes {
			select {
			case <-n.exited:
			default:
				n.kill()
			}
		}
		for _, d := range dataDirs {
			os.RemoveAll(d)
		}
	}()
	for i := 0; i < max(cfg.Nodes, 1); i++ {
		dataDir, err := os.MkdirTemp(cfg.TmpDir, "ingest-data-")
		if err != nil {
			return nil, err
		}
		dataDirs = append(dataDirs, dataDir)
		n, err := startNode(cfg.Bin, dataDir, benchKey, cfg.NodeEnv...)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	n := nodes[0]
	nodesCPU := func() (time.Duration, error) {
		var t time.Duration
		for _, n := range nodes {
			c, err := procCPU(n.pid())
			if err != nil {
				return 0, err
			}
			t += c
		}
		return t, nil
	}
	storeCPU := func() time.Duration {
		if cfg.StoreCPU == nil {
			return 0
		}
		return cfg.StoreCPU()
	}

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: cfg.Clients * 2, MaxIdleConnsPerHost: cfg.Clients * 2,
		DisableCompression: true, IdleConnTimeout: time.Minute,
	}}
	send := func(n *node, body []byte, respBuf *bytes.Buffer) (acked int64, throttled bool, err error) {
		url := n.base + "/1/batch/" + ingestDataset
		if cfg.Protocol == "otlp" {
			url = n.base + "/v1/traces"
		}
		req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		if err != nil {
			return 0, false, err
		}
		req.Header.Set("X-Honeycomb-Team", benchKey)
		switch {
		case cfg.Protocol == "otlp":
			req.Header.Set("Content-Type", "application/x-protobuf")
			if cfg.Encoding == "gzip" {
				req.Header.Set("Content-Encoding", "gzip")
			}
		case enc != nil:
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", "zstd")
		default:
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, false, err
		}
		respBuf.Reset()
		_, err = respBuf.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, false, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			if cfg.Protocol == "otlp" {
				a, err := otlpAcked(respBuf.Bytes(), int64(cfg.Batch))
				return a, false, err
			}
			return int64(bytes.Count(respBuf.Bytes(), []byte(`"status":202`))), false, nil
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			return 0, true, nil
		}
		return 0, false, fmt.Errorf("POST %s: %d %.300q", req.URL.Path, resp.StatusCode, respBuf.Bytes())
	}

	// Warm-up: one request creates the dataset and its columns.
	var wb bytes.Buffer
	warm, _, err := send(n, bodies[0], &wb)
	if err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	res.AckedTotal = warm

	res.LoadAvgBefore = loadAvg()
	cpu0, err := nodesCPU()
	if err != nil {
		return nil, err
	}
	store0 := storeCPU()
	self0 := selfCPU()
	m0 := sampleMachine()
	t0 := time.Now()
	deadline := t0.Add(cfg.Duration)
	var sent, acked, requests, throttled atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for c := 0; c < cfg.Clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			var rb bytes.Buffer
			for i := c; ; i += cfg.Clients {
				if cfg.Events > 0 {
					if sent.Add(int64(cfg.Batch)) > cfg.Events {
						return
					}
				} else if !time.Now().Before(deadline) {
					return
				}
				a, th, err := send(nodes[c%len(nodes)], bodies[i%len(bodies)], &rb)
				requests.Add(1)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				if th {
					throttled.Add(1)
					if cfg.Events > 0 {
						sent.Add(-int64(cfg.Batch))
					}
					i -= cfg.Clients
					time.Sleep(20 * time.Millisecond)
					continue
				}
				acked.Add(a)
			}
		}(c)
	}
	wg.Wait()
	res.Wall = time.Since(t0)
	m1 := sampleMachine()
	cpu1, err := nodesCPU()
	if err != nil {
		return nil, err
	}
	res.StoreCPU = storeCPU() - store0
	res.ClientCPU = selfCPU() - self0
	res.ServerCPU = cpu1 - cpu0
	res.MachineBusy = busyCores(m0, m1, res.Wall)
	res.LoadAvgAfter = loadAvg()
	res.Acked, res.Requests, res.Throttled = acked.Load(), requests.Load(), throttled.Load()
	res.AckedTotal += res.Acked
	if firstErr != nil {
		return nil, firstErr
	}
	for _, n := range nodes {
		hwm, err := procStatusBytes(n.pid(), "VmHWM")
		if err != nil {
			return nil, err
		}
		rss, err := procStatusBytes(n.pid(), "VmRSS")
		if err != nil {
			return nil, err
		}
		res.PeakRSS, res.RSS = max(res.PeakRSS, hwm), max(res.RSS, rss)
	}

	// What is stored must be what was acknowledged (read through the last
	// node: with two, what the other wrote must be visible there too).
	for _, ds := range cfg.datasets() {
		stored, err := countHTTP(ctx, nodes[len(nodes)-1], ds, start.Add(-time.Minute), end.Add(time.Minute))
		if err != nil {
			return nil, fmt.Errorf("count stored events in %s: %w", ds, err)
		}
		res.Stored += stored
	}
	ts := time.Now()
	for _, n := range nodes {
		if err := n.stop(); err != nil {
			return nil, err
		}
	}
	res.ShutdownWall = time.Since(ts)
	for _, d := range dataDirs {
		res.DiskBytes += dirSize(d)
	}
	log.Printf("ingest %s: %d %s acknowledged in %v (%.0f/s), server CPU %v/event, peak RSS %d MiB, stored %d",
		cfg.label(), res.Acked, cfg.unit(), res.Wall.Round(time.Millisecond), res.rate(), res.cpuPerEvent(), res.PeakRSS>>20, res.Stored)
	return res, nil
}

// countHTTP returns COUNT over dataset in [start, end) through the query API.
func countHTTP(ctx context.Context, n *node, dataset string, start, end time.Time) (int64, error) {
	spec := map[string]any{
		"calculations": []map[string]any{{"op": "COUNT"}},
		"start_time":   start.Unix(), "end_time": end.Unix() + 1,
	}
	q, err := newHTTPQuery(ctx, n, dataset, spec)
	if err != nil {
		return 0, err
	}
	out, err := q.run(ctx, true, true)
	if err != nil {
		return 0, err
	}
	if len(out.Data.Results) != 1 {
		return 0, fmt.Errorf("COUNT returned %d rows", len(out.Data.Results))
	}
	c, ok := out.Data.Results[0].Data["COUNT"].(float64)
	if !ok {
		return 0, fmt.Errorf("COUNT returned %v", out.Data.Results[0].Data)
	}
	return int64(c), nil
}
