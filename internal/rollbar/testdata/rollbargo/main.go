// Command rollbargo reports errors with the real rollbar-go client to the
// endpoint in ROLLBAR_ENDPOINT (waggle's /api/1/item/) with the token in
// ROLLBAR_TOKEN. It is run by internal/rollbar's TestRollbarGoClient.
package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/rollbar/rollbar-go"
)

type configError struct{ code int }

func (e *configError) Error() string { return fmt.Sprintf("config error code=%d", e.code) }

// loadUser fails the same way every time it is called.
func loadUser(id int) error { return fmt.Errorf("user %d: %w", id, errors.New("database unreachable")) }

// parseConfig fails with a different error.
func parseConfig() error { return &configError{code: 42} }

func main() {
	rollbar.SetToken(os.Getenv("ROLLBAR_TOKEN"))
	rollbar.SetEndpoint(os.Getenv("ROLLBAR_ENDPOINT"))
	rollbar.SetEnvironment("production")
	rollbar.SetCodeVersion("v1.0.0")
	rollbar.SetServerRoot("waggle.test/rollbargo")
	// A custom fingerprint through the transform hook.
	rollbar.SetTransform(func(data map[string]interface{}) {
		if t, _ := data["title"].(string); strings.Contains(t, "custom-fp") {
			data["fingerprint"] = "go-custom-fp"
		}
	})

	rollbar.Message(rollbar.WARN, "Hello World!")
	for i := 0; i < 3; i++ {
		rollbar.Error(loadUser(1000 + i))
	}
	rollbar.Error(fmt.Errorf("startup: %w", parseConfig()))
	rollbar.Error(errors.New("custom-fp one"))
	rollbar.Error(errors.New("custom-fp two"))

	// An error during a request that carries a W3C trace context.
	req, _ := http.NewRequest("GET", "http://app.example/orders/7", nil)
	req.Header.Set("traceparent", "00-"+os.Getenv("TRACE_ID")+"-00f067aa0ba902b7-01")
	rollbar.RequestError(rollbar.ERR, req, errors.New("order lookup failed"))

	rollbar.Wait()
	rollbar.Close()
}
