package server

import (
	"net/http"
	"time"

	"github.com/waggle-hq/waggle/internal/cloudwatchlogs"
)

// mountCloudWatchLogs serves the CloudWatch Logs API (awsJson1_1) at POST /
// on the main listener. POST / is shared by every awsJson1_1 service, told
// apart by X-Amz-Target: Logs_20140328.* goes to CloudWatch Logs, anything
// else gets AWS's UnknownOperationException. The streams' event-time
// statistics are flushed to the metadata database every few seconds and at
// shutdown.
func (s *Server) mountCloudWatchLogs(mux *http.ServeMux) {
	api := &cloudwatchlogs.API{
		Store:    s.Store,
		Pipeline: s.Pipeline,
		Meta:     s.Meta,
		Auth:     s.Tenants,
		Log:      s.log.With("component", "cloudwatchlogs"),
	}
	api.Init()
	s.cloudwatch = api
	mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		if cloudwatchlogs.Handles(r) {
			api.ServeHTTP(w, r)
			return
		}
		cloudwatchlogs.UnknownOperation(w)
	})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				if err := api.Flush(); err != nil {
					s.log.Error("cloudwatch logs: flush stream statistics", "err", err)
				}
				return
			case <-t.C:
				if err := api.Flush(); err != nil {
					s.log.Error("cloudwatch logs: flush stream statistics", "err", err)
				}
			}
		}
	}()
}
