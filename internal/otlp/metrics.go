package otlp

import (
	"encoding/json"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/waggle-hq/waggle/internal/event"
)

// translateMetrics maps OTLP metrics to events: one event per data point,
// the metric's name a column holding the value (see doc.go for the field
// names of each metric type). The dataset is the x-honeycomb-dataset header,
// else "unknown_metrics".
func translateMetrics(md pmetric.Metrics, ri requestInfo) translation {
	var t translation
	t.events = make([]event.Event, 0, md.DataPointCount())
	dataset := strings.TrimSpace(ri.dataset)
	if dataset == "" {
		dataset = unknownMetrics
	}
	if !usableDataset(dataset) {
		t.reject(int64(md.DataPointCount()), "x-honeycomb-dataset is not a usable dataset name")
		return t
	}
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		res := resourceFields(rm.Resource().Attributes(), rm.SchemaUrl())
		sms := rm.ScopeMetrics()
		for j := range sms.Len() {
			sm := sms.At(j)
			scope := scopeFields(sm.Scope(), sm.SchemaUrl())
			ms := sm.Metrics()
			for k := range ms.Len() {
				translateMetric(&t, ms.At(k), dataset, res, scope, ri)
			}
		}
	}
	return t
}

// metricPoint starts a data point's event: the metric's own fields first,
// then resource, scope and data point attributes (which win).
func metricPoint(m pmetric.Metric, typ string, res, scope []event.Field, attrs pcommon.Map) *fieldSet {
	f := newFieldSet(24 + len(res) + len(scope) + attrs.Len())
	f.set("meta.signal_type", event.String("metric"))
	f.set("metric.name", str(m.Name()))
	f.set("metric.type", event.String(typ))
	if u := m.Unit(); u != "" {
		f.set("metric.unit", str(u))
	}
	if d := m.Description(); d != "" {
		f.set("metric.description", str(d))
	}
	f.addAll(res)
	f.addAll(scope)
	addAttrs(f, "", attrs, 0)
	return f
}

func temporality(a pmetric.AggregationTemporality) string {
	switch a {
	case pmetric.AggregationTemporalityDelta:
		return "delta"
	case pmetric.AggregationTemporalityCumulative:
		return "cumulative"
	}
	return "unspecified"
}

// numberValue is a number data point's value.
func numberValue(dp pmetric.NumberDataPoint) event.Value {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return event.Int(dp.IntValue())
	}
	return float(dp.DoubleValue())
}

// finish sets the sample rate, start time and timestamp of a data point and
// adds its event.
func (t *translation) finishPoint(f *fieldSet, dataset string, start, ts pcommon.Timestamp, ri requestInfo) {
	if start != 0 {
		f.set("metric.start_time_unix_nano", event.Int(int64(start)))
	}
	rate, _ := takeSampleRate(f)
	t.add(dataset, timestamp(ts, ri.now), rate, f)
}

func translateMetric(t *translation, m pmetric.Metric, dataset string, res, scope []event.Field, ri requestInfo) {
	name := m.Name()
	if name == "" {
		t.reject(int64(dataPoints(m)), "metric without a name")
		return
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			f := metricPoint(m, "gauge", res, scope, dp.Attributes())
			f.set(name, numberValue(dp))
			t.finishPoint(f, dataset, dp.StartTimestamp(), dp.Timestamp(), ri)
		}
	case pmetric.MetricTypeSum:
		s := m.Sum()
		dps := s.DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			f := metricPoint(m, "sum", res, scope, dp.Attributes())
			f.set("metric.temporality", event.String(temporality(s.AggregationTemporality())))
			f.set("metric.monotonic", event.Bool(s.IsMonotonic()))
			f.set(name, numberValue(dp))
			t.finishPoint(f, dataset, dp.StartTimestamp(), dp.Timestamp(), ri)
		}
	case pmetric.MetricTypeHistogram:
		h := m.Histogram()
		dps := h.DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			f := metricPoint(m, "histogram", res, scope, dp.Attributes())
			f.set("metric.temporality", event.String(temporality(h.AggregationTemporality())))
			setCountSum(f, name, dp.Count(), dp.HasSum(), dp.Sum(), dp.HasMin(), dp.Min(), dp.HasMax(), dp.Max())
			bounds := dp.ExplicitBounds().AsRaw()
			counts := dp.BucketCounts().AsRaw()
			f.set(name+".bounds", jsonText(bounds))
			f.set(name+".bucket_counts", jsonText(counts))
			// Cumulative "le" buckets (Prometheus semantics): values ≤ bound.
			var cum uint64
			for b, c := range counts {
				cum += c
				le := "+Inf"
				if b < len(bounds) {
					le = strconv.FormatFloat(bounds[b], 'g', -1, 64)
				} else if b > len(bounds) {
					break
				}
				f.set(name+".le."+le, event.Int(int64(cum)))
			}
			t.finishPoint(f, dataset, dp.StartTimestamp(), dp.Timestamp(), ri)
		}
	case pmetric.MetricTypeExponentialHistogram:
		h := m.ExponentialHistogram()
		dps := h.DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			f := metricPoint(m, "exponential_histogram", res, scope, dp.Attributes())
			f.set("metric.temporality", event.String(temporality(h.AggregationTemporality())))
			setCountSum(f, name, dp.Count(), dp.HasSum(), dp.Sum(), dp.HasMin(), dp.Min(), dp.HasMax(), dp.Max())
			f.set(name+".scale", event.Int(int64(dp.Scale())))
			f.set(name+".zero_count", event.Int(int64(dp.ZeroCount())))
			f.set(name+".positive.offset", event.Int(int64(dp.Positive().Offset())))
			f.set(name+".positive.bucket_counts", jsonText(dp.Positive().BucketCounts().AsRaw()))
			f.set(name+".negative.offset", event.Int(int64(dp.Negative().Offset())))
			f.set(name+".negative.bucket_counts", jsonText(dp.Negative().BucketCounts().AsRaw()))
			t.finishPoint(f, dataset, dp.StartTimestamp(), dp.Timestamp(), ri)
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			f := metricPoint(m, "summary", res, scope, dp.Attributes())
			setCountSum(f, name, dp.Count(), true, dp.Sum(), false, 0, false, 0)
			qs := dp.QuantileValues()
			for q := range qs.Len() {
				qv := qs.At(q)
				p := strconv.FormatFloat(qv.Quantile()*100, 'g', -1, 64)
				f.set(name+".p"+p, float(qv.Value()))
			}
			t.finishPoint(f, dataset, dp.StartTimestamp(), dp.Timestamp(), ri)
		}
	default:
		// An empty metric has no data points: nothing to store.
	}
}

// setCountSum sets <name>.count, .sum, .avg, .min and .max of a
// distribution.
func setCountSum(f *fieldSet, name string, count uint64, hasSum bool, sum float64, hasMin bool, min float64, hasMax bool, max float64) {
	f.set(name+".count", event.Int(int64(count)))
	if hasSum {
		f.set(name+".sum", float(sum))
		if count > 0 {
			f.set(name+".avg", float(sum/float64(count)))
		}
	}
	if hasMin {
		f.set(name+".min", float(min))
	}
	if hasMax {
		f.set(name+".max", float(max))
	}
}

// jsonText renders a list as JSON text ("[]" when empty).
func jsonText[T any](v []T) event.Value {
	if v == nil {
		v = []T{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return event.Value{}
	}
	return str(string(b))
}

func dataPoints(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}
