package querycmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client talks to the Honeycomb query API of a waggle server.
type client struct {
	server string
	key    string
	http   *http.Client
	// poll is the wait between reads of an incomplete result.
	poll time.Duration
}

// resultRequest is the body of POST /1/query_results/{dataset}.
type resultRequest struct {
	QueryID                 string `json:"query_id"`
	DisableSeries           bool   `json:"disable_series,omitempty"`
	DisableTotalByAggregate bool   `json:"disable_total_by_aggregate,omitempty"`
	DisableOtherByAggregate bool   `json:"disable_other_by_aggregate,omitempty"`
	Limit                   int    `json:"limit,omitempty"`
}

// resultResponse is a query result object.
type resultResponse struct {
	Query    json.RawMessage `json:"query"`
	ID       string          `json:"id"`
	Complete bool            `json:"complete"`
	Data     json.RawMessage `json:"data"`
	Links    json.RawMessage `json:"links"`
}

// run creates the query, runs it, and waits for complete results. It
// returns the final result object as received.
func (c *client) run(ctx context.Context, dataset string, spec []byte, req resultRequest) ([]byte, error) {
	ds := url.PathEscape(dataset)
	var q struct {
		ID string `json:"id"`
	}
	if _, err := c.do(ctx, http.MethodPost, "/1/queries/"+ds, spec, &q); err != nil {
		return nil, fmt.Errorf("create query: %w", err)
	}
	if q.ID == "" {
		return nil, fmt.Errorf("create query: the server returned no query id")
	}
	req.QueryID = q.ID
	body, _ := json.Marshal(req)
	var created resultResponse
	if _, err := c.do(ctx, http.MethodPost, "/1/query_results/"+ds, body, &created); err != nil {
		return nil, fmt.Errorf("run query: %w", err)
	}
	if created.ID == "" {
		return nil, fmt.Errorf("run query: the server returned no result id")
	}
	path := "/1/query_results/" + ds + "/" + url.PathEscape(created.ID)
	for {
		var res resultResponse
		raw, err := c.do(ctx, http.MethodGet, path, nil, &res)
		if err != nil {
			return nil, fmt.Errorf("read query result: %w", err)
		}
		if res.Complete {
			return raw, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for query result: %w", ctx.Err())
		case <-time.After(c.poll):
		}
	}
}

// do sends one request and decodes a 2xx JSON answer into out, returning the
// raw body. Error answers become errors carrying the server's message.
func (c *client) do(ctx context.Context, method, path string, body []byte, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.server, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Honeycomb-Team", c.key)
	req.Header.Set("User-Agent", "waggle-query")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s (HTTP %d)", e.Error, resp.StatusCode)
		}
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(raw[:min(len(raw), 200)]))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	return raw, nil
}
