// Package http is Rollcall's driving HTTP adapter: the JSON API of
// shared/API.md, health probes, and the mapping of application errors to
// status codes, done once in errors.go.
package http

import (
	"context"
	_ "embed"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

// ReadinessCheck reports whether a dependency is usable; nil means ready.
type ReadinessCheck func(ctx context.Context) error

// Server holds what the routes need.
type Server struct {
	logger *slog.Logger
	ready  map[string]ReadinessCheck
	router *mux.Router
}

// NewServer builds the routes. Readiness checks are named so /readyz says
// which one failed.
func NewServer(logger *slog.Logger, ready map[string]ReadinessCheck) *Server {
	s := &Server{logger: logger, ready: ready, router: mux.NewRouter()}
	s.router.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet)
	s.router.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet)
	// The description is under /api/v1 and refuses a broken query string
	// as the API's routes do (it says so of every route).
	s.router.Handle("/api/v1/openapi.yaml", checkQuery(logger, http.HandlerFunc(serveOpenAPI))).Methods(http.MethodGet)
	return s
}

// Router lets other adapters (the API, the web pages) add their routes.
func (s *Server) Router() *mux.Router { return s.router }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// healthz answers as long as the process serves HTTP: a liveness probe.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz checks the dependencies: a readiness probe that takes the instance
// out of rotation while PostgreSQL is unreachable.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, failed := map[string]string{}, false
	for name, check := range s.ready {
		if err := check(ctx); err != nil {
			s.logger.Warn("not ready", "check", name, "err", err)
			status[name] = "unavailable"
			failed = true
			continue
		}
		status[name] = "ok"
	}
	code := http.StatusOK
	if failed {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": !failed, "checks": status})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

//go:embed openapi.yaml
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	_, _ = w.Write(openAPI)
}

// Timeouts bound how long one request may hold a connection, so half-sent
// requests and clients that never read cannot pile up. Uploads are the
// exception: their body may take up to UploadTotal, as long as bytes keep
// coming (see UploadLimits).
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// HTTPServer is an http.Server for h with the timeouts.
func (t Timeouts) HTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: t.ReadHeader, ReadTimeout: t.Read, WriteTimeout: t.Write, IdleTimeout: t.Idle}
}

// UploadLimits bound an upload: its size, how long it may go without
// receiving a byte (a stalled upload is cut there), and how long it may take
// in all, the answer included.
type UploadLimits struct {
	MaxBytes int64
	Stall    time.Duration
	Total    time.Duration
}

// lift replaces the server's read and write deadlines for an upload's
// request: the body is read under a rolling deadline, Stall after the last
// read that brought bytes but never past Total, and the answer must be
// written within Total.
func (l UploadLimits) lift(w http.ResponseWriter, r *http.Request) {
	if l.Stall <= 0 || l.Total <= 0 {
		return
	}
	rc := http.NewResponseController(w)
	end := time.Now().Add(l.Total)
	_ = rc.SetWriteDeadline(end)
	r.Body = &stallReader{body: r.Body, rc: rc, stall: l.Stall, end: end}
}

// stallReader moves the connection's read deadline forward as bytes come.
// It moves it at most every quarter of Stall, so a stalled body is cut
// between ¾·Stall and Stall after its last byte.
type stallReader struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	stall time.Duration
	end   time.Time
	moved time.Time
}

func (s *stallReader) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(s.moved) >= s.stall/4 {
		deadline := now.Add(s.stall)
		if deadline.After(s.end) {
			deadline = s.end
		}
		_ = s.rc.SetReadDeadline(deadline)
		s.moved = now
	}
	return s.body.Read(p)
}

func (s *stallReader) Close() error { return s.body.Close() }
