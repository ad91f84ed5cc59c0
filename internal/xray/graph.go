package xray

import (
	"sort"
	"time"
)

// Node is a service graph node: segments of one name and type, or an
// inferred downstream (a remote or AWS call without its own segment), or
// the client.
type Node struct {
	ReferenceID int
	Name        string
	Type        string
	Root        bool
	Inferred    bool
	Start, End  time.Time
	Stats       Stats
	Edges       map[int]*EdgeStats
	Durations   []float64
}

// Stats count requests by outcome.
type Stats struct {
	OK, Error, Throttle, Fault, Total int64
	TotalResponseTime                 float64
}

func (s *Stats) add(sp *Span) {
	s.Total++
	s.TotalResponseTime += sp.DurationMs / 1000
	switch {
	case sp.Fault:
		s.Fault++
	case sp.Throttle:
		s.Throttle++
	case sp.Error:
		s.Error++
	default:
		s.OK++
	}
}

// EdgeStats are the calls from a node to another.
type EdgeStats struct {
	Stats
	Start, End    time.Time
	ResponseTimes []float64
}

// Graph accumulates nodes and edges over traces.
type Graph struct {
	Nodes []*Node
	index map[string]*Node
}

// NewGraph returns an empty graph.
func NewGraph() *Graph { return &Graph{index: map[string]*Node{}} }

func (g *Graph) node(name, typ string, inferred bool) *Node {
	k := name + "\x00" + typ
	if n := g.index[k]; n != nil {
		return n
	}
	n := &Node{ReferenceID: len(g.Nodes), Name: name, Type: typ, Inferred: inferred, Edges: map[int]*EdgeStats{}}
	g.Nodes = append(g.Nodes, n)
	g.index[k] = n
	return n
}

func widen(start, end *time.Time, s, e time.Time) {
	if start.IsZero() || s.Before(*start) {
		*start = s
	}
	if e.After(*end) {
		*end = e
	}
}

func spanEnd(s *Span) time.Time {
	return s.Start.Add(time.Duration(s.DurationMs * float64(time.Millisecond)))
}

func (g *Graph) edge(from, to *Node, s *Span) {
	e := from.Edges[to.ReferenceID]
	if e == nil {
		e = &EdgeStats{}
		from.Edges[to.ReferenceID] = e
	}
	e.add(s)
	e.ResponseTimes = append(e.ResponseTimes, s.DurationMs/1000)
	widen(&e.Start, &e.End, s.Start, spanEnd(s))
}

// InferredType is the node type of a downstream call without a segment.
func InferredType(s *Span) string {
	if s.Namespace == "aws" {
		return "AWS::" + s.Name
	}
	return "remote"
}

// Add adds one trace: a node per segment name and type, the client calling
// the entry segment, an edge per call from a segment to another segment,
// and an inferred node per remote call that has no segment.
func (g *Graph) Add(t *Trace) {
	for _, s := range t.Segments {
		n := g.node(s.Name, s.Origin, false)
		n.Stats.add(s)
		n.Durations = append(n.Durations, s.DurationMs/1000)
		widen(&n.Start, &n.End, s.Start, spanEnd(s))
		if s.Parent == nil {
			n.Root = true
			c := g.node("client", "client", false)
			g.edge(c, n, s)
		} else if s.Parent.Seg != nil {
			g.edge(g.node(s.Parent.Seg.Name, s.Parent.Seg.Origin, false), n, s)
		}
	}
	for _, s := range t.Spans {
		if s.Segment || s.Seg == nil || (s.Namespace != "remote" && s.Namespace != "aws") {
			continue
		}
		if hasSegChild(s) {
			continue
		}
		n := g.node(s.Name, InferredType(s), true)
		n.Stats.add(s)
		n.Durations = append(n.Durations, s.DurationMs/1000)
		widen(&n.Start, &n.End, s.Start, spanEnd(s))
		g.edge(g.node(s.Seg.Name, s.Seg.Origin, false), n, s)
	}
}

func hasSegChild(s *Span) bool {
	for _, c := range s.Children {
		if c.Segment {
			return true
		}
	}
	return false
}

// Histogram buckets values (seconds) to X-Ray's HistogramEntry list: values
// rounded to milliseconds, counted.
func Histogram(vals []float64) []map[string]any {
	counts := map[float64]int{}
	for _, v := range vals {
		k := float64(int64(v*1000+0.5)) / 1000
		counts[k]++
	}
	keys := make([]float64, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Float64s(keys)
	out := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]any{"Value": k, "Count": counts[k]})
	}
	return out
}
