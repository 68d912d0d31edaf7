package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
)

// Every error reaches the client through one vocabulary: the domain's own
// types and the application's failures answer with the same status the web
// pages use, and anything nobody described is a 500 that says nothing
// inside.
func TestErrorAnswers(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{"wrong step", &importsession.WrongStepError{Current: importsession.StateUploaded, Wanted: []importsession.State{importsession.StateValidated}}, 409, "wrong_wizard_step", ""},
		{"wrapped domain error", fmt.Errorf("commit: %w", &importsession.ChangeThresholdError{Changed: 3, Accounts: 10, Threshold: 20}), 409, "change_threshold_exceeded", ""},
		{"not found", &importsession.NotFoundError{}, 404, "not_found", ""},
		{"forbidden", &importsession.ForbiddenError{Reason: "no"}, 403, "forbidden", ""},
		{"invalid mapping", &importsession.InvalidMappingError{}, 422, "invalid_mapping", ""},
		{"account value", &account.InvalidError{Field: "role", Message: "bad role"}, 422, "invalid_value", ""},
		{"concurrent change", &eventstore.ConcurrencyError{StreamID: "import-x"}, 409, "conflict", ""},
		{"application failure", failure.New(failure.TooLarge, "file_too_large", "too big"), 413, "file_too_large", ""},
		{"throttled", &failure.Error{Kind: failure.TooManyRequests, Code: "too_many_attempts", Message: "wait", RetryAfter: 1500 * time.Millisecond}, 429, "too_many_attempts", "2"},
		{"an application failure wrapping a domain one speaks for it", &failure.Error{Kind: failure.Gone, Code: "expired", Message: "gone", Err: &importsession.NotFoundError{}}, 410, "expired", ""},
		{"internal failure", &failure.Error{Kind: failure.Internal, Code: "x", Message: "secret detail"}, 500, "internal", ""},
		{"undescribed", errors.New("pq: connection refused"), 500, "internal", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeError(rec, httptest.NewRequest(http.MethodGet, "/x", nil), slog.New(slog.NewTextHandler(io.Discard, nil)), tt.err)
			var body errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.status || body.Error.Code != tt.code || StatusOf(tt.err) != tt.status {
				t.Errorf("got %d %q (StatusOf %d), want %d %q", rec.Code, body.Error.Code, StatusOf(tt.err), tt.status, tt.code)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if tt.status == 500 && body.Error.Message == tt.err.Error() {
				t.Errorf("a 500 told the client %q", body.Error.Message)
			}
		})
	}
}
