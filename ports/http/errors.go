package http

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/rollcall/rollcall/application/apperror"
)

// statusOfKind is the one place application error kinds become HTTP codes.
var statusOfKind = map[apperror.Kind]int{
	apperror.Invalid:       http.StatusBadRequest,
	apperror.Unprocessable: http.StatusUnprocessableEntity,
	apperror.Unauthorized:  http.StatusUnauthorized,
	apperror.Forbidden:     http.StatusForbidden,
	apperror.NotFound:      http.StatusNotFound,
	apperror.Conflict:      http.StatusConflict,
	apperror.TooLarge:      http.StatusRequestEntityTooLarge,
	apperror.Unsupported:   http.StatusUnsupportedMediaType,
	apperror.Unavailable:   http.StatusServiceUnavailable,
	apperror.Internal:      http.StatusInternalServerError,

	apperror.TooManyRequests: http.StatusTooManyRequests,
}

// statusOfSlug maps the slugs of domain errors, which know nothing of HTTP.
var statusOfSlug = map[string]int{
	"wrong-wizard-step":         http.StatusConflict,
	"verification-incomplete":   http.StatusConflict,
	"nothing-to-import":         http.StatusConflict,
	"change-threshold-exceeded": http.StatusConflict,
	"undo-window-closed":        http.StatusConflict,
	"conflict":                  http.StatusConflict,
	"invalid-mapping":           http.StatusUnprocessableEntity,
	"invalid-defaults":          http.StatusUnprocessableEntity,
	"invalid-value":             http.StatusUnprocessableEntity,
	"forbidden":                 http.StatusForbidden,
	"not-found":                 http.StatusNotFound,
}

// StatusOf is the HTTP status of err, for the web pages, which answer with
// HTML but must agree with the API on what each error means.
func StatusOf(err error) int {
	if appErr, ok := apperror.As(err); ok {
		return statusOfKind[appErr.Kind]
	}
	var slugged apperror.Slugged
	if errors.As(err, &slugged) {
		if status, ok := statusOfSlug[slugged.Slug()]; ok {
			return status
		}
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
	if appErr, ok := apperror.As(err); ok {
		status := statusOfKind[appErr.Kind]
		if status >= 500 && appErr.Kind != apperror.Unavailable {
			logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			writeJSON(w, status, errorBody{errorDetail{Code: "internal", Message: "Something went wrong on our side. Please try again; if it keeps happening, contact support."}})
			return
		}
		SetRetryAfter(w, err)
		writeJSON(w, status, errorBody{errorDetail{Code: code(appErr.Slug), Message: appErr.Message, Details: appErr.Details}})
		return
	}
	var slugged apperror.Slugged
	if errors.As(err, &slugged) {
		if status, ok := statusOfSlug[slugged.Slug()]; ok {
			var details map[string]any
			if d, ok := err.(interface{ Details() map[string]any }); ok {
				details = d.Details()
			}
			writeJSON(w, status, errorBody{errorDetail{Code: code(slugged.Slug()), Message: slugged.Error(), Details: details}})
			return
		}
	}
	logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, errorBody{errorDetail{Code: "internal", Message: "Something went wrong on our side. Please try again; if it keeps happening, contact support."}})
}

// SetRetryAfter sends Retry-After (whole seconds, at least one) when err
// says how long to wait; the web pages use it too.
func SetRetryAfter(w http.ResponseWriter, err error) {
	if appErr, ok := apperror.As(err); ok && appErr.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, math.Ceil(appErr.RetryAfter.Seconds())))))
	}
}

// code turns a kebab-case slug into the API's snake_case error code.
func code(slug string) string { return strings.ReplaceAll(slug, "-", "_") }
