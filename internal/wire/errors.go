package wire

import "errors"

// Errors returned by ReadBody and ReadRequest; they may be wrapped, so test
// them with errors.Is.
var (
	// ErrEmpty means the body had no bytes (after decompression).
	ErrEmpty = errors.New("request body is empty")
	// ErrTooLarge means the body exceeded Limits.MaxBytes as sent or
	// Limits.MaxDecodedBytes after decompression.
	ErrTooLarge = errors.New("request body is too large")
	// ErrUnsupportedEncoding means the Content-Encoding is not one of
	// identity, gzip or zstd.
	ErrUnsupportedEncoding = errors.New("unsupported content encoding")
	// ErrCorrupt means the body could not be decompressed.
	ErrCorrupt = errors.New("request body cannot be decompressed")
	// ErrOverloaded means the memory budget could not hold the body; the
	// client should retry later (HTTP 429 with Retry-After).
	ErrOverloaded = errors.New("memory budget exhausted")
)
