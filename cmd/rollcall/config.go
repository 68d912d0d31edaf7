package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// Config is read from the environment once, here, and passed down.
type Config struct {
	DatabaseURL string
	Addr        string
	LogFormat   string // "text" or "json"
	LogLevel    string

	// Consumers and workers.
	PollInterval time.Duration
	JobWorkers   int
	JobLease     time.Duration
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
	return c, nil
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
