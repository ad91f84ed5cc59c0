package query

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Canonical returns the spec as normalized JSON: operators in their canonical
// case, the default AND combination and ascending order left out, values
// compacted. Two specs that mean the same thing usually have the same
// canonical form; it is what a query object echoes back.
func (s *Spec) Canonical() ([]byte, error) {
	n := s.normalized()
	b, err := json.Marshal(n)
	if err != nil {
		return nil, fmt.Errorf("encode query spec: %w", err)
	}
	return b, nil
}

// ID returns the spec's query ID: the first 16 hex digits of the SHA-256 of
// its canonical form, so the same spec always gets the same ID.
func (s *Spec) ID() (string, error) {
	b, err := s.Canonical()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

// normalized returns a normalized deep-enough copy of s.
func (s *Spec) normalized() *Spec {
	n := *s
	n.FilterCombination = normCombination(s.FilterCombination)
	n.Filters = normFilters(s.Filters)
	if s.Calculations != nil {
		n.Calculations = make([]Calculation, len(s.Calculations))
		for i, c := range s.Calculations {
			if op, ok := ParseCalcOp(c.Op); ok {
				c.Op = string(op)
			}
			c.FilterCombination = normCombination(c.FilterCombination)
			c.Filters = normFilters(c.Filters)
			n.Calculations[i] = c
		}
	}
	if s.Orders != nil {
		n.Orders = make([]SpecOrder, len(s.Orders))
		for i, o := range s.Orders {
			if op, ok := ParseCalcOp(o.Op); ok {
				o.Op = string(op)
			}
			switch strings.ToLower(o.Order) {
			case "", "ascending", "asc":
				o.Order = ""
			case "descending", "desc":
				o.Order = "descending"
			}
			n.Orders[i] = o
		}
	}
	if s.Havings != nil {
		n.Havings = make([]SpecHaving, len(s.Havings))
		for i, h := range s.Havings {
			if op, ok := ParseCalcOp(h.CalculateOp); ok {
				h.CalculateOp = string(op)
			}
			if op, ok := ParseFilterOp(h.Op); ok {
				h.Op = string(op)
			}
			n.Havings[i] = h
		}
	}
	return &n
}

// normCombination drops the default AND.
func normCombination(s string) string {
	if strings.EqualFold(s, "OR") {
		return "OR"
	}
	if strings.EqualFold(s, "AND") {
		return ""
	}
	return s
}

// normFilters normalizes operators and compacts values.
func normFilters(in []SpecFilter) []SpecFilter {
	if in == nil {
		return nil
	}
	out := make([]SpecFilter, len(in))
	for i, f := range in {
		if op, ok := ParseFilterOp(f.Op); ok {
			f.Op = string(op)
			if op.unary() {
				f.Value = nil
			}
		}
		if len(f.Value) > 0 {
			var buf bytes.Buffer
			if json.Compact(&buf, f.Value) == nil {
				f.Value = buf.Bytes()
			}
			if string(f.Value) == "null" && f.Op != string(OpEq) && f.Op != string(OpNe) {
				f.Value = nil
			}
		}
		out[i] = f
	}
	return out
}
