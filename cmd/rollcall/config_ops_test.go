package main

import (
	"strings"
	"testing"
)

// The mail and metrics settings are read with clear refusals of bad
// values. Not parallel: it sets the process environment.
func TestMailAndMetricsConfig(t *testing.T) {
	tests := []struct {
		name, rate, workers, metrics string
		wantRate                     float64
		wantWorkers                  int
		wantErr                      string
	}{
		{name: "defaults", wantWorkers: 4},
		{name: "a relay's limit", rate: "14", workers: "8", metrics: "127.0.0.1:9090", wantRate: 14, wantWorkers: 8},
		{name: "slower than one a second", rate: "0.5", wantRate: 0.5, wantWorkers: 4},
		{name: "zero rate", rate: "0", wantErr: "MAIL_RATE"},
		{name: "negative rate", rate: "-3", wantErr: "MAIL_RATE"},
		{name: "words", rate: "fast", wantErr: "MAIL_RATE"},
		{name: "infinite", rate: "Inf", wantErr: "MAIL_RATE"},
		{name: "no workers", workers: "0", wantErr: "MAIL_WORKERS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("MAIL_RATE", tt.rate)
			t.Setenv("MAIL_WORKERS", tt.workers)
			t.Setenv("METRICS_ADDR", tt.metrics)
			c, err := configFromEnv()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.MailRate != tt.wantRate || c.MailWorkers != tt.wantWorkers || c.MetricsAddr != tt.metrics {
				t.Fatalf("got rate %v, workers %d, metrics %q, %v", c.MailRate, c.MailWorkers, c.MetricsAddr, err)
			}
		})
	}
}
