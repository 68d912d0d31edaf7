package http

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// RequestObserver is told of every answered request: the metrics count them.
type RequestObserver interface {
	ObserveRequest(route, method string, code int, took time.Duration)
}

// Observe is a mux middleware (mux runs it once a route matched) that
// reports each request under its route's template ("/api/v1/imports/{id}"),
// never its path: ids do not become metric labels, and the query string,
// which may carry an OAuth code, is never logged. At LOG_LEVEL=debug each
// request is one line of the log, which is what a test's server log shows
// when a page waits for an answer that never comes. observer may be nil.
func Observe(logger *slog.Logger, observer RequestObserver) mux.MiddlewareFunc {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			route := "unmatched"
			if cur := mux.CurrentRoute(r); cur != nil {
				if tpl, err := cur.GetPathTemplate(); err == nil {
					route = tpl
				}
			}
			rec := &statusRecorder{ResponseWriter: w}
			start := time.Now()
			next.ServeHTTP(rec, r)
			took := time.Since(start)
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			if observer != nil {
				observer.ObserveRequest(route, r.Method, rec.status, took)
			}
			logger.DebugContext(r.Context(), "request", "method", r.Method, "route", route, "status", rec.status, "ms", took.Milliseconds())
		})
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (Flush,
// deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
