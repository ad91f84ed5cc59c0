package cloudwatchlogs

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/waggle-hq/waggle/internal/tenant"
)

// uiOperations are the operations the web UI may call: reads only.
var uiOperations = map[string]bool{
	"DescribeLogGroups":  true,
	"DescribeLogStreams": true,
	"FilterLogEvents":    true,
	"GetLogEvents":       true,
}

// uiRegion is the region of ARNs in answers to the web UI, which signs
// nothing.
const uiRegion = "us-east-1"

// RegisterUI mounts the read operations for the web UI's session API
// (internal/ui): POST /logs/{Operation} with the operation's awsJson input,
// answered with its output, in the environment of the principal auth
// returns (the session's). The operations are the same code as the signed
// API's; errors are {"error", "code"} with the operation's status.
func (a *API) RegisterUI(mux *http.ServeMux, auth tenant.Authenticator) {
	mux.HandleFunc("POST /logs/{op}", func(w http.ResponseWriter, r *http.Request) {
		op := r.PathValue("op")
		h, ok := operations[op]
		if !ok || !uiOperations[op] {
			uiError(w, http.StatusNotFound, "UnknownOperationException", "unknown operation")
			return
		}
		p, err := auth.Authenticate(r.Context(), "")
		if err != nil {
			uiError(w, http.StatusUnauthorized, "UnrecognizedClientException", "not logged in")
			return
		}
		if !p.Can(tenant.PermRunQueries) {
			uiError(w, http.StatusForbidden, "AccessDeniedException", "reading logs needs the run queries permission")
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			uiError(w, http.StatusRequestEntityTooLarge, "SerializationException", "request body too large")
			return
		}
		if len(raw) == 0 {
			raw = []byte("{}")
		}
		c := &call{ctx: r.Context(), env: p.Env, region: uiRegion, op: op, body: raw}
		res, aerr := a.safeCall(h, c)
		if aerr != nil {
			uiError(w, aerr.status, aerr.code, aerr.message)
			return
		}
		if res == nil {
			res = struct{}{}
		}
		out, err := json.Marshal(res)
		if err != nil {
			a.Log.Error("cloudwatch logs (ui): encode response", "op", op, "err", err)
			uiError(w, http.StatusInternalServerError, "InternalFailure", "internal error")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	})
}

func uiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg, "code": code})
}
