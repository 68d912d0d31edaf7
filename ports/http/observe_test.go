package http_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"

	rhttp "github.com/rollcall/rollcall/ports/http"
)

type observed struct{ seen []string }

func (o *observed) ObserveRequest(route, method string, code int, _ time.Duration) {
	o.seen = append(o.seen, method+" "+route+" "+http.StatusText(code))
}

// TestObserveNamesTheRouteNotThePath: ids and query strings (an OAuth code)
// reach neither the metrics nor the log; the status is the one written, or
// 200 when the handler only wrote a body.
func TestObserveNamesTheRouteNotThePath(t *testing.T) {
	t.Parallel()
	var log bytes.Buffer
	o := &observed{}
	r := mux.NewRouter()
	r.Use(rhttp.Observe(slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})), o))
	r.HandleFunc("/api/v1/imports/{id}", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no such import", http.StatusNotFound)
	})
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	for _, path := range []string{
		"/api/v1/imports/0b7e4a4e-1111-4a4e-8a4e-000000000001?code=secret-oauth-code",
		"/healthz",
	} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	want := []string{"GET /api/v1/imports/{id} Not Found", "GET /healthz OK"}
	if strings.Join(o.seen, "|") != strings.Join(want, "|") {
		t.Errorf("observed %q, want %q", o.seen, want)
	}
	for _, leak := range []string{"0b7e4a4e", "secret-oauth-code"} {
		if strings.Contains(log.String(), leak) {
			t.Errorf("the request log holds %q:\n%s", leak, log.String())
		}
	}
	if !strings.Contains(log.String(), `route=/api/v1/imports/{id} status=404`) {
		t.Errorf("the request log does not name the route and status:\n%s", log.String())
	}
}

// TestObserveWithoutMetrics: with METRICS_ADDR unset there is no observer,
// and requests are served all the same.
func TestObserveWithoutMetrics(t *testing.T) {
	t.Parallel()
	r := mux.NewRouter()
	r.Use(rhttp.Observe(slog.New(slog.NewTextHandler(io.Discard, nil)), nil))
	r.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "ok" {
		t.Errorf("%d %q", rec.Code, rec.Body.String())
	}
}
