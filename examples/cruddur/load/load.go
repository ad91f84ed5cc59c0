// Package load drives the Cruddur API with a realistic mix of requests:
// mostly home timelines, a slow search, profiles where one noisy user is
// visited far more often (and is slower), messages with a rare failure (2 %
// of posts go to a handle without a conversation), and now and then
// /rollbar/test. BubbleUp, triggers and percentiles have something to find.
package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune the generator.
type Options struct {
	Rate        float64 // requests per second (default 20)
	Concurrency int     // workers (default 8)
	Client      *http.Client
}

// Stats counts what was sent.
type Stats struct {
	Requests, Errors5xx, Errors4xx, Failed atomic.Int64
}

type request struct {
	weight float64
	make   func(r *rand.Rand) (method, path string, body any)
}

var handles = []string{"worf", "garek", "bayko", "londo"}
var terms = []string{"cloud", "honor", "prune", "tailor", "unicorn", "aws"}

// Mix is the request mix, by weight.
var mix = []request{
	{40, func(*rand.Rand) (string, string, any) { return "GET", "/api/activities/home", nil }},
	{10, func(*rand.Rand) (string, string, any) { return "GET", "/api/activities/notifications", nil }},
	{8, func(r *rand.Rand) (string, string, any) {
		return "GET", "/api/activities/search?term=" + terms[r.IntN(len(terms))], nil
	}},
	// Profiles: the noisy user is two thirds of them.
	{8, func(*rand.Rand) (string, string, any) { return "GET", "/api/activities/@andrewbrown", nil }},
	{4, func(r *rand.Rand) (string, string, any) {
		return "GET", "/api/activities/@" + handles[r.IntN(len(handles))], nil
	}},
	{6, func(*rand.Rand) (string, string, any) { return "GET", "/api/message_groups", nil }},
	{6, func(r *rand.Rand) (string, string, any) { return "GET", "/api/messages/@" + handles[r.IntN(3)], nil }},
	{10, func(r *rand.Rand) (string, string, any) {
		to := handles[r.IntN(3)]
		if r.Float64() < 0.02 { // the rare error: no conversation with londo
			to = "londo"
		}
		return "POST", "/api/messages", map[string]string{"user_receiver_handle": to, "message": "Qapla'!"}
	}},
	{4, func(r *rand.Rand) (string, string, any) {
		return "POST", "/api/activities", map[string]string{"message": "Cloud is fun!", "ttl": "7-days"}
	}},
	{3, func(*rand.Rand) (string, string, any) { return "GET", "/api/health-check", nil }},
	{1, func(*rand.Rand) (string, string, any) { return "GET", "/rollbar/test", nil }},
}

// Run sends requests to base until ctx ends.
func Run(ctx context.Context, base string, opt Options, st *Stats) {
	if opt.Rate <= 0 {
		opt.Rate = 20
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 8
	}
	cl := opt.Client
	if cl == nil {
		cl = &http.Client{Timeout: 10 * time.Second}
	}
	if st == nil {
		st = &Stats{}
	}
	var total float64
	for _, m := range mix {
		total += m.weight
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < opt.Concurrency; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
			for range jobs {
				x := r.Float64() * total
				var m request
				for _, m = range mix {
					if x < m.weight {
						break
					}
					x -= m.weight
				}
				method, path, body := m.make(r)
				send(ctx, cl, base, method, path, body, st)
			}
		}(uint64(w))
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / opt.Rate))
	defer t.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
			select {
			case jobs <- 0:
			default: // all workers busy: skip this tick rather than pile up
			}
		}
	}
	close(jobs)
	wg.Wait()
}

func send(ctx context.Context, cl *http.Client, base, method, path string, body any, st *Stats) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		st.Failed.Add(1)
		return
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "cruddur-load/1.0")
	st.Requests.Add(1)
	resp, err := cl.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			st.Failed.Add(1)
		}
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 500:
		st.Errors5xx.Add(1)
	case resp.StatusCode >= 400:
		st.Errors4xx.Add(1)
	}
}

// String summarises the counts.
func (s *Stats) String() string {
	return fmt.Sprintf("%d requests, %d 5xx, %d 4xx, %d failed", s.Requests.Load(), s.Errors5xx.Load(), s.Errors4xx.Load(), s.Failed.Load())
}
