package sqlgen

import (
	"sort"

	"github.com/waggle-hq/waggle/internal/query"
)

// sortSeries orders points by time, then by their group's rank.
func sortSeries(pts []query.SeriesPoint, rank map[string]int) {
	sort.SliceStable(pts, func(i, j int) bool {
		if !pts[i].Time.Equal(pts[j].Time) {
			return pts[i].Time.Before(pts[j].Time)
		}
		return rank[keyString(pts[i].Key)] < rank[keyString(pts[j].Key)]
	})
}
