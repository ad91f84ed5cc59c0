package honeycomb

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/waggle-hq/waggle/internal/meta"
	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// GET /1/slos/{dataset}/{id}/counts?start_time&end_time (Unix seconds;
// default the last hour): the SLO's SLI counts in windows of 60 s —
// total_count (good + bad; events whose SLI is null are not counted) and
// error_count (bad), sample-rate weighted, through the query engine (one
// series query per 1000 windows). A range is at most 7 days.

const (
	sloCountsResolution = 60
	sloCountsMaxRange   = 7 * 24 * 3600
)

func (a *API) registerSLOCounts(mux *http.ServeMux) {
	mux.HandleFunc("GET /1/slos/{dataset}/{id}/counts", a.handleSLOCounts)
}

type sloCountWindow struct {
	WindowStart int64   `json:"window_start"`
	WindowEnd   int64   `json:"window_end"`
	TotalCount  float64 `json:"total_count"`
	ErrorCount  float64 `json:"error_count"`
	IsPartial   bool    `json:"is_partial"`
}

type sloCountsResponse struct {
	SLOID             string           `json:"slo_id"`
	ResolutionSeconds int              `json:"resolution_seconds"`
	Epoch             int64            `json:"epoch"`
	PeriodStart       int64            `json:"period_start"`
	Windows           []sloCountWindow `json:"windows"`
}

func (a *API) handleSLOCounts(w http.ResponseWriter, r *http.Request) {
	p, ds, ok := a.datasetScope(w, r, tenant.PermManageSLOs, true)
	if !ok {
		return
	}
	o, ok := a.loadObject(w, r, p, meta.KindSLO, ds, r.PathValue("id"), "SLO")
	if !ok {
		return
	}
	s := sloOf(o)
	now := a.Now().UTC()
	end, start := now.Unix(), now.Unix()-3600
	for name, dst := range map[string]*int64{"start_time": &start, "end_time": &end} {
		if v := r.URL.Query().Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, name+" must be a Unix time in seconds")
				return
			}
			*dst = n
		}
	}
	start -= start % sloCountsResolution
	if rem := end % sloCountsResolution; rem != 0 {
		end += sloCountsResolution - rem
	}
	switch {
	case end <= start:
		writeError(w, http.StatusBadRequest, "end_time must be after start_time")
		return
	case end-start > sloCountsMaxRange:
		writeError(w, http.StatusBadRequest, "the range is at most 7 days")
		return
	}
	out := sloCountsResponse{SLOID: s.ID, ResolutionSeconds: sloCountsResolution, Epoch: start,
		PeriodStart: now.Add(-time.Duration(s.TimePeriodDays) * 24 * time.Hour).Unix(), Windows: []sloCountWindow{}}
	eq := func(v bool) []query.SpecFilter {
		raw, _ := json.Marshal(v)
		return []query.SpecFilter{{Column: s.SLI.Alias, Op: "=", Value: raw}}
	}
	chunk := int64(sloCountsResolution * query.MaxBuckets)
	for cs := start; cs < end; cs += chunk {
		ce := min(cs+chunk, end)
		g := int64(sloCountsResolution)
		spec := &query.Spec{
			Calculations: []query.Calculation{{Op: "COUNT", Name: "good", Filters: eq(true)}, {Op: "COUNT", Name: "bad", Filters: eq(false)}},
			StartTime:    &cs, EndTime: &ce, Granularity: &g,
		}
		res, err := a.Engine.Run(r.Context(), p.Env.ID, sloDatasets(ds, s), spec, query.Options{DisableTotalByAggregate: true, DisableOtherByAggregate: true, Now: now})
		if err != nil {
			a.internalError(w, r, "SLO counts", err)
			return
		}
		byTime := map[int64]map[string]any{}
		for _, pt := range res.Series {
			byTime[pt.Time.Unix()] = pt.Data
		}
		for t := cs; t < ce; t += sloCountsResolution {
			win := sloCountWindow{WindowStart: t, WindowEnd: t + sloCountsResolution, IsPartial: t+sloCountsResolution > now.Unix()}
			if d := byTime[t]; d != nil {
				good, _ := d["good"].(float64)
				bad, _ := d["bad"].(float64)
				win.TotalCount, win.ErrorCount = good+bad, bad
			}
			out.Windows = append(out.Windows, win)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
