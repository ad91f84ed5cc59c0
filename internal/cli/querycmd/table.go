package querycmd

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// resultData is the part of a result's data the table shows.
type resultData struct {
	Results []struct {
		Data map[string]json.RawMessage `json:"data"`
	} `json:"results"`
	Events []struct {
		Time    string                     `json:"time"`
		Dataset string                     `json:"dataset"`
		Data    map[string]json.RawMessage `json:"data"`
	} `json:"events"`
}

// printTable prints results as an aligned table: breakdown columns, then
// calculation columns. Without calculations and breakdowns it prints the
// raw events: time, then every field in name order.
func printTable(w io.Writer, data []byte, breakdowns, labels []string, raw bool) error {
	var d resultData
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("decode result data: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if raw {
		var keys []string
		seen := map[string]bool{}
		for _, e := range d.Events {
			for k := range e.Data {
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
		slices.Sort(keys)
		fmt.Fprintln(tw, strings.Join(append([]string{"time"}, keys...), "\t"))
		for _, e := range d.Events {
			row := []string{e.Time}
			for _, k := range keys {
				row = append(row, cell(e.Data[k], true))
			}
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		if len(d.Events) == 0 {
			fmt.Fprintln(tw, "(no events)")
		}
		return tw.Flush()
	}
	fmt.Fprintln(tw, strings.Join(append(slices.Clone(breakdowns), labels...), "\t"))
	for _, r := range d.Results {
		var row []string
		for _, b := range breakdowns {
			row = append(row, cell(r.Data[b], true))
		}
		for _, l := range labels {
			row = append(row, cell(r.Data[l], false))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if len(d.Results) == 0 {
		fmt.Fprintln(tw, "(no results)")
	}
	return tw.Flush()
}

// cell renders one JSON value for the table: "(null)" for a missing
// breakdown value, "-" for a missing calculation, numbers without noise,
// heatmaps as their count and range.
func cell(raw json.RawMessage, breakdown bool) string {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil || v == nil {
		if breakdown {
			return "(null)"
		}
		return "-"
	}
	switch x := v.(type) {
	case float64:
		return formatNumber(x)
	case string:
		return strings.NewReplacer("\t", " ", "\n", " ").Replace(x)
	case bool:
		return strconv.FormatBool(x)
	case map[string]any:
		if _, ok := x["buckets"]; ok {
			n, _ := x["count"].(float64)
			lo, _ := x["min"].(float64)
			hi, _ := x["max"].(float64)
			return fmt.Sprintf("n=%s [%s..%s]", formatNumber(n), formatNumber(lo), formatNumber(hi))
		}
	}
	return string(raw)
}

// formatNumber prints integers as such and other numbers with at most three
// decimals (or four significant digits when smaller than 0.001).
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	if math.Abs(f) < 0.001 {
		return strconv.FormatFloat(f, 'g', 4, 64)
	}
	s := strconv.FormatFloat(f, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
