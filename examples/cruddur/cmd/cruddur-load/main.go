// Command cruddur-load drives the Cruddur API with a realistic mix (see
// package load). CRUDDUR_URL (default http://localhost:4567) and
// LOAD_RATE (requests per second, default 20) configure it; so do -url and
// -rate.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/waggle-hq/waggle/examples/cruddur/load"
)

func main() {
	url := os.Getenv("CRUDDUR_URL")
	if url == "" {
		url = "http://localhost:4567"
	}
	rate, _ := strconv.ParseFloat(os.Getenv("LOAD_RATE"), 64)
	if rate <= 0 {
		rate = 20
	}
	flag.StringVar(&url, "url", url, "Cruddur API base URL")
	flag.Float64Var(&rate, "rate", rate, "requests per second")
	dur := flag.Duration("duration", 0, "stop after this long (0: until interrupted)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	// Wait for the API (docker compose starts both at once).
	for ctx.Err() == nil {
		if resp, err := http.Get(url + "/api/health-check"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(time.Second)
	}
	st := &load.Stats{}
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				fmt.Println("cruddur-load:", st)
			}
		}
	}()
	fmt.Printf("cruddur-load: %.0f requests/s to %s\n", rate, url)
	load.Run(ctx, url, load.Options{Rate: rate}, st)
	fmt.Println("cruddur-load:", st)
}
