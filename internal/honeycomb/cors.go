package honeycomb

import (
	"time"

	"github.com/waggle-hq/waggle/internal/wire"
)

// eventsCORS lets browser builds of libhoney-js post events. Besides the
// usual headers they send X-Honeycomb-UserAgent, since browsers forbid
// setting User-Agent.
var eventsCORS = &wire.CORS{
	Methods: []string{"POST"},
	Headers: []string{
		"Content-Type", "Content-Encoding",
		"X-Honeycomb-Team", "X-Honeycomb-UserAgent",
		"X-Honeycomb-Event-Time", "X-Honeycomb-Samplerate",
	},
	Expose: []string{"Retry-After"},
	MaxAge: 24 * time.Hour,
}
