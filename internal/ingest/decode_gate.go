package ingest

import (
	"context"
	"runtime"
)

// DecodeGate bounds how many request bodies are decoded at once. Decoding is
// CPU-bound, so more decoders than cores buy no throughput, while each one
// holds a parse tree several times its body's size: the gate keeps that
// memory proportional to the cores instead of to the connections.
type DecodeGate struct {
	slots chan struct{}
}

// NewDecodeGate returns a gate of n slots; n ≤ 0 means GOMAXPROCS.
func NewDecodeGate(n int) *DecodeGate {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &DecodeGate{slots: make(chan struct{}, n)}
}

// Enter waits for a slot; call the returned function to leave it.
func (g *DecodeGate) Enter(ctx context.Context) (leave func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
