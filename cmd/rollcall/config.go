package main

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rollcall/rollcall/infrastructure/password"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// Config is read from the environment once, here, and passed down.
type Config struct {
	DatabaseURL string
	Addr        string
	LogFormat   string // "text" or "json"
	LogLevel    string

	// HTTP: how long one request may hold a connection, and whose
	// X-Forwarded-For is believed.
	HTTP           rhttp.Timeouts
	UploadStall    time.Duration // an upload receiving nothing this long is cut
	UploadTimeout  time.Duration // an upload may take this long in all
	TrustedProxies []netip.Prefix

	// Consumers and workers.
	PollInterval time.Duration
	JobWorkers   int
	JobLease     time.Duration

	// Sign-in.
	SessionTTL time.Duration
	Argon2     password.Params
	// SweepInterval is how often expired sessions and forgotten sign-in
	// counters are deleted.
	SweepInterval time.Duration

	// Imports.
	SecretKey     string // ROLLCALL_SECRET_KEY: encrypts uploads and stored tokens
	UploadDir     string
	MaxUploadSize int64
	CommitBatch   int
	// ChunkRows is how many rows one commit job applies; the chunks of a
	// commit are shared by every process.
	ChunkRows int
	// UndoWindow is how long after it completes an import can be undone.
	UndoWindow time.Duration
	// SecretKeyPrevious (ROLLCALL_SECRET_KEY_PREVIOUS) still opens what the
	// key before a rotation sealed; nothing new is sealed with it.
	SecretKeyPrevious string

	// Mail.
	SMTPURL   string
	MailFrom  string
	PublicURL string
	MailLease time.Duration
	// MailRate is the most emails a second this process sends (MAIL_RATE;
	// 0 = no limit); MailWorkers how many it has on the wire at once.
	MailRate    float64
	MailWorkers int

	// MetricsAddr is where Prometheus scrapes /metrics (METRICS_ADDR; ""
	// = no metrics listener).
	MetricsAddr string

	// DevMode seeds a demo organization, catches emails in-process and
	// fakes Google; only the development build (-tags dev) accepts it.
	DevMode bool

	// Google OAuth and Classroom; unset client id: no Google (a fake one in
	// development mode).
	Google GoogleConfig
}

// GoogleConfig points at Google (or a fake).
type GoogleConfig struct {
	ClientID, ClientSecret    string
	AuthURL, TokenURL, APIURL string
	// IssuerURL is Sign in with Google's OpenID Connect issuer (default
	// https://accounts.google.com), discovered at its
	// /.well-known/openid-configuration.
	IssuerURL string
}

func configFromEnv() (Config, error) {
	c := Config{
		DatabaseURL: os.Getenv("DATABASE_URL"),
		Addr:        envOr("ADDR", ":8080"),
		LogFormat:   envOr("LOG_FORMAT", "text"),
		LogLevel:    envOr("LOG_LEVEL", "info"),
	}
	var err error
	if c.PollInterval, err = envDuration("POLL_INTERVAL", 200*time.Millisecond); err != nil {
		return c, err
	}
	if c.JobLease, err = envDuration("JOB_LEASE", 30*time.Second); err != nil {
		return c, err
	}
	if c.JobWorkers, err = envInt("JOB_WORKERS", 2); err != nil {
		return c, err
	}
	if c.SessionTTL, err = envDuration("SESSION_TTL", 12*time.Hour); err != nil {
		return c, err
	}
	if c.SweepInterval, err = envDuration("SWEEP_INTERVAL", 10*time.Minute); err != nil {
		return c, err
	}
	c.HTTP.ReadHeader = 10 * time.Second
	for _, d := range []struct {
		name     string
		dst      *time.Duration
		fallback time.Duration
	}{
		{"HTTP_READ_TIMEOUT", &c.HTTP.Read, 30 * time.Second},
		{"HTTP_WRITE_TIMEOUT", &c.HTTP.Write, 2 * time.Minute},
		{"HTTP_IDLE_TIMEOUT", &c.HTTP.Idle, 2 * time.Minute},
		{"UPLOAD_STALL_TIMEOUT", &c.UploadStall, 30 * time.Second},
		{"UPLOAD_TIMEOUT", &c.UploadTimeout, 30 * time.Minute},
	} {
		if *d.dst, err = envDuration(d.name, d.fallback); err != nil {
			return c, err
		}
	}
	c.HTTP.ReadHeader = min(c.HTTP.ReadHeader, c.HTTP.Read)
	if c.TrustedProxies, err = parseTrustedProxies(os.Getenv("TRUSTED_PROXIES")); err != nil {
		return c, err
	}
	c.Argon2 = password.DefaultParams()
	for name, field := range map[string]*uint32{"ARGON2_MEMORY_KIB": &c.Argon2.Memory, "ARGON2_ITERATIONS": &c.Argon2.Iterations} {
		n, err := envInt(name, int(*field))
		if err != nil {
			return c, err
		}
		*field = uint32(n)
	}
	parallelism, err := envInt("ARGON2_PARALLELISM", int(c.Argon2.Parallelism))
	if err != nil || parallelism > 255 {
		return c, fmt.Errorf("ARGON2_PARALLELISM must be a whole number from 1 to 255")
	}
	c.Argon2.Parallelism = uint8(parallelism)

	c.SecretKey = os.Getenv("ROLLCALL_SECRET_KEY")
	c.UploadDir = envOr("UPLOAD_DIR", ".data/uploads")
	maxMiB, err := envInt("MAX_UPLOAD_MB", 50)
	if err != nil {
		return c, err
	}
	c.MaxUploadSize = int64(maxMiB) << 20
	if c.CommitBatch, err = envInt("IMPORT_BATCH_ROWS", 1000); err != nil {
		return c, err
	}
	if c.ChunkRows, err = envInt("IMPORT_CHUNK_ROWS", 5000); err != nil {
		return c, err
	}
	if c.UndoWindow, err = envDuration("UNDO_WINDOW", 30*24*time.Hour); err != nil {
		return c, err
	}
	if c.MailLease, err = envDuration("MAIL_LEASE", time.Minute); err != nil {
		return c, err
	}
	if c.MailWorkers, err = envInt("MAIL_WORKERS", 4); err != nil {
		return c, err
	}
	if v := os.Getenv("MAIL_RATE"); v != "" {
		if c.MailRate, err = strconv.ParseFloat(v, 64); err != nil || c.MailRate <= 0 || math.IsInf(c.MailRate, 0) {
			return c, fmt.Errorf("MAIL_RATE=%q is not a positive number of emails a second such as 14 or 0.5 (leave it unset for no limit)", v)
		}
	}
	c.MetricsAddr = os.Getenv("METRICS_ADDR")
	c.SecretKeyPrevious = os.Getenv("ROLLCALL_SECRET_KEY_PREVIOUS")
	switch v := os.Getenv("DEV_MODE"); v {
	case "", "false":
	case "true":
		c.DevMode = true
		if err := enterDevMode(&c); err != nil {
			return c, err
		}
	default:
		return c, fmt.Errorf("DEV_MODE=%q: say true or false", v)
	}
	c.Google = GoogleConfig{ClientID: os.Getenv("GOOGLE_CLIENT_ID"), ClientSecret: os.Getenv("GOOGLE_CLIENT_SECRET"),
		AuthURL: os.Getenv("GOOGLE_AUTH_URL"), TokenURL: os.Getenv("GOOGLE_TOKEN_URL"), APIURL: os.Getenv("GOOGLE_API_URL"),
		IssuerURL: os.Getenv("GOOGLE_ISSUER_URL")}
	c.SMTPURL = os.Getenv("SMTP_URL")
	c.MailFrom = envOr("MAIL_FROM", "Rollcall <rollcall@localhost>")
	c.PublicURL = os.Getenv("PUBLIC_URL")
	if c.PublicURL == "" {
		_, port, _ := strings.Cut(c.Addr, ":")
		c.PublicURL = "http://localhost:" + port
	}
	return c, nil
}

// parseTrustedProxies reads TRUSTED_PROXIES: CIDRs or single addresses,
// separated by commas or spaces.
func parseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, field := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		if p, err := netip.ParsePrefix(field); err == nil {
			out = append(out, p.Masked())
			continue
		}
		addr, err := netip.ParseAddr(field)
		if err != nil {
			return nil, fmt.Errorf("TRUSTED_PROXIES: %q is neither an address nor a CIDR such as 10.0.0.0/8; list your proxies' addresses, separated by commas", field)
		}
		out = append(out, netip.PrefixFrom(addr, addr.BitLen()))
	}
	return out, nil
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func envDuration(name string, fallback time.Duration) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return fallback, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive duration such as 500ms or 30s", name, v)
	}
	return d, nil
}

func envInt(name string, fallback int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return fallback, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q is not a positive whole number", name, v)
	}
	return n, nil
}
