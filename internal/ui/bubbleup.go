package ui

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/waggle-hq/waggle/internal/query"
	"github.com/waggle-hq/waggle/internal/tenant"
)

// BubbleUp API: POST /api/v1/bubbleup/{dataset} (API key in
// X-Honeycomb-Team, run_queries) and POST /ui/api/bubbleup/{dataset}
// (session).
//
//	{"query": {Honeycomb query spec: time range, granularity, filters},
//	 "column": "duration_ms",
//	 "selection": {"start": unix s, "end": unix s, "min": 400, "max": 1000},
//	 "columns": ["optional", "subset"], "top_values": 10}
type bubbleUpRequest struct {
	Query     json.RawMessage `json:"query"`
	Column    string          `json:"column"`
	Selection struct {
		Start float64 `json:"start"`
		End   float64 `json:"end"`
		Min   float64 `json:"min"`
		Max   float64 `json:"max"`
	} `json:"selection"`
	Columns   []string `json:"columns"`
	TopValues int      `json:"top_values"`
}

type bubbleUpValueJSON struct {
	Value             any     `json:"value"`
	Selection         float64 `json:"selection"`
	Baseline          float64 `json:"baseline"`
	SelectionFraction float64 `json:"selection_fraction"`
	BaselineFraction  float64 `json:"baseline_fraction"`
}

type bubbleUpColumnJSON struct {
	Column         string              `json:"column"`
	Score          float64             `json:"score"`
	Values         []bubbleUpValueJSON `json:"values"`
	SelectionOther float64             `json:"selection_other"`
	BaselineOther  float64             `json:"baseline_other"`
}

type bubbleUpJSON struct {
	Start          int64                `json:"start"`
	End            int64                `json:"end"`
	SelectionStart int64                `json:"selection_start"`
	SelectionEnd   int64                `json:"selection_end"`
	Granularity    int64                `json:"granularity"`
	SelectionCount float64              `json:"selection_count"`
	BaselineCount  float64              `json:"baseline_count"`
	Columns        []bubbleUpColumnJSON `json:"columns"`
	ColumnsLeftOut []string             `json:"columns_left_out,omitempty"`
	TookMs         float64              `json:"took_ms"`
}

func unixTime(f float64) time.Time {
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

func (h *Handler) keyBubbleUp(w http.ResponseWriter, r *http.Request) {
	secret := r.Header.Get("X-Honeycomb-Team")
	p, err := h.KeyAuth.Authenticate(r.Context(), secret)
	if err != nil {
		if errors.Is(err, tenant.ErrUnknownKey) {
			writeError(w, http.StatusUnauthorized, "unknown API key - check your credentials")
			return
		}
		h.Log.Error("bubbleup: authenticate", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	h.bubbleUp(w, r, p)
}

func (h *Handler) sessionBubbleUp(w http.ResponseWriter, r *http.Request) {
	h.bubbleUp(w, r, principalOf(r))
}

func (h *Handler) bubbleUp(w http.ResponseWriter, r *http.Request, p *tenant.Principal) {
	if !p.Can(tenant.PermRunQueries) {
		writeError(w, http.StatusUnauthorized, "missing the permission: run_queries")
		return
	}
	var in bubbleUpRequest
	if !decodeBody(w, r, &in) {
		return
	}
	raw := in.Query
	if len(raw) == 0 {
		raw = []byte(`{}`)
	}
	spec, err := query.ParseSpec(raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	began := time.Now()
	res, err := h.Engine.BubbleUp(r.Context(), p.Env.ID, []string{r.PathValue("dataset")}, query.BubbleUpRequest{
		Spec:   spec,
		Column: in.Column,
		Selection: query.BubbleUpSelection{
			Start: unixTime(in.Selection.Start), End: unixTime(in.Selection.End),
			Min: in.Selection.Min, Max: in.Selection.Max,
		},
		Columns:   in.Columns,
		TopValues: in.TopValues,
	}, query.Options{})
	switch {
	case errors.Is(err, query.ErrUnknownDataset):
		writeError(w, http.StatusNotFound, "dataset not found")
		return
	case query.IsSpecError(err):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		h.Log.Error("bubbleup", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	out := bubbleUpJSON{
		Start: res.Start.Unix(), End: res.End.Unix(),
		SelectionStart: res.SelectionStart.Unix(), SelectionEnd: res.SelectionEnd.Unix(),
		Granularity:    int64(res.Granularity / time.Second),
		SelectionCount: res.SelectionCount, BaselineCount: res.BaselineCount,
		Columns: []bubbleUpColumnJSON{}, ColumnsLeftOut: res.ColumnsLeftOut,
		TookMs: float64(time.Since(began)) / float64(time.Millisecond),
	}
	for _, c := range res.Columns {
		cj := bubbleUpColumnJSON{Column: c.Column, Score: c.Score, SelectionOther: c.SelectionOther, BaselineOther: c.BaselineOther, Values: []bubbleUpValueJSON{}}
		for _, v := range c.Values {
			cj.Values = append(cj.Values, bubbleUpValueJSON{Value: v.Value.Any(), Selection: v.Selection, Baseline: v.Baseline,
				SelectionFraction: v.SelectionFraction, BaselineFraction: v.BaselineFraction})
		}
		out.Columns = append(out.Columns, cj)
	}
	writeJSON(w, http.StatusOK, out)
}
