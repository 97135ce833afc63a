package ratelimit

import (
	"net/http"
	"testing"
	"time"
)

func TestResultSetHeaders(t *testing.T) {
	tests := []struct {
		name string
		res  Result
		want map[string]string
	}{
		{"allowed", Result{Allowed: true, Limit: 10, Remaining: 7, ResetAfter: 1500 * time.Millisecond},
			map[string]string{"RateLimit-Limit": "10", "RateLimit-Remaining": "7", "RateLimit-Reset": "2", "Retry-After": ""}},
		{"denied", Result{Limit: 10, ResetAfter: 2 * time.Second, RetryAfter: 200 * time.Millisecond},
			map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": "2", "Retry-After": "1"}},
		{"denied long", Result{Limit: 1, ResetAfter: 90 * time.Second, RetryAfter: 90*time.Second + 1},
			map[string]string{"RateLimit-Reset": "90", "Retry-After": "91"}},
		{"denied zero retry", Result{Limit: 1},
			map[string]string{"RateLimit-Reset": "0", "Retry-After": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			tt.res.SetHeaders(h)
			for k, v := range tt.want {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}
