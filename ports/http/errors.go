package http

import (
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/rollcall/rollcall/domain/failure"
)

// statusOfKind is the one place application error kinds become HTTP codes.
var statusOfKind = map[failure.Kind]int{
	failure.Invalid:       http.StatusBadRequest,
	failure.Unprocessable: http.StatusUnprocessableEntity,
	failure.Unauthorized:  http.StatusUnauthorized,
	failure.Forbidden:     http.StatusForbidden,
	failure.NotFound:      http.StatusNotFound,
	failure.Conflict:      http.StatusConflict,
	failure.TooLarge:      http.StatusRequestEntityTooLarge,
	failure.Unsupported:   http.StatusUnsupportedMediaType,
	failure.Unavailable:   http.StatusServiceUnavailable,
	failure.Internal:      http.StatusInternalServerError,
	failure.Gone:          http.StatusGone,

	failure.TooManyRequests: http.StatusTooManyRequests,
}

// StatusOf is the HTTP status of err, for the web pages, which answer with
// HTML but must agree with the API on what each error means.
func StatusOf(err error) int {
	if f, ok := failure.As(err); ok {
		return statusOfKind[f.Kind]
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// writeError answers with {"error":{"code","message"}}. Internal detail goes
// to the log, never into the answer.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	f, ok := failure.As(err)
	if !ok || (statusOfKind[f.Kind] >= 500 && f.Kind != failure.Unavailable) {
		logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{errorDetail{Code: "internal", Message: "Something went wrong on our side. Please try again; if it keeps happening, contact support."}})
		return
	}
	SetRetryAfter(w, err)
	writeJSON(w, statusOfKind[f.Kind], errorBody{errorDetail{Code: f.Code, Message: f.Message, Details: f.Details}})
}

// SetRetryAfter sends Retry-After (whole seconds, at least one) when err
// says how long to wait; the web pages use it too.
func SetRetryAfter(w http.ResponseWriter, err error) {
	if f, ok := failure.As(err); ok && f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, math.Ceil(f.RetryAfter.Seconds())))))
	}
}
