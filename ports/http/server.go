// Package http is Rollcall's driving HTTP adapter: the JSON API of
// shared/API.md, health probes, and the mapping of application errors to
// status codes, done once in errors.go.
package http

import (
	"context"
	_ "embed"
	"encoding/json"
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
	s.router.HandleFunc("/api/v1/openapi.yaml", serveOpenAPI).Methods(http.MethodGet)
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
