package google

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// retryTransport retries idempotent requests on 429, 5xx and network
// errors, with exponential backoff and jitter, honouring Retry-After: the
// client library does not retry by itself.
type retryTransport struct {
	next  http.RoundTripper
	retry Retry
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || (req.Body != nil && req.Body != http.NoBody) {
		return t.next.RoundTrip(req)
	}
	for attempt := 1; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		retryable := err != nil || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		if !retryable || attempt >= t.retry.MaxAttempts || req.Context().Err() != nil {
			return resp, err
		}
		delay := t.backoff(attempt, resp)
		if resp != nil {
			resp.Body.Close()
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(delay):
		}
	}
}

func (t *retryTransport) backoff(attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if v := resp.Header.Get("Retry-After"); v != "" {
			if secs, err := strconv.Atoi(v); err == nil {
				return min(time.Duration(secs)*time.Second, t.retry.MaxDelay)
			}
			if at, err := http.ParseTime(v); err == nil {
				return min(max(time.Until(at), 0), t.retry.MaxDelay)
			}
		}
	}
	d := t.retry.BaseDelay << (attempt - 1)
	d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	return min(d, t.retry.MaxDelay)
}
