package main

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	thousand := make([]int, 1000)
	for i := range thousand {
		thousand[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p90 of 1..100", ms(hundred...), 90, 90 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p99.9 of 1..1000 is exact", ms(thousand...), 99.9, 999 * time.Millisecond},
		{"p100 is the max", ms(1, 5, 9), 100, 9 * time.Millisecond},
		{"p0 is the min", ms(1, 5, 9), 0, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestCheckTargetRefusesNonLoopback(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://127.0.0.1:8443", true},
		{"https://127.9.8.7:1", true},
		{"https://localhost:8443", true},
		{"https://[::1]:8443", true},
		{"https://10.0.0.1:8443", false},
		{"https://192.168.1.1", false},
		{"https://[::2]:8443", false},
		{"https://0.0.0.0:8443", false},
		{"https://example.com", false},
		{"https://localhost.example.com", false},
		{"https://127.0.0.1.nip.io", false},
		{"http://127.0.0.1:8443", false}, // plain HTTP: not the gateway's public API
		{"https://", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := checkTarget(tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("checkTarget(%q) error = %v, want ok=%v", tt.url, err, tt.ok)
			}
		})
	}
	if _, err := checkTarget("https://10.0.0.1"); !errors.Is(err, errNotLoopback) {
		t.Errorf("error for 10.0.0.1 = %v, want errNotLoopback", err)
	}
}

func TestParseSources(t *testing.T) {
	tests := []struct {
		spec string
		want []string
	}{
		{"127.0.0.2", []string{"127.0.0.2"}},
		{"127.0.0.3-127.0.0.5", []string{"127.0.0.3", "127.0.0.4", "127.0.0.5"}},
		{"127.0.0.1, ::1", []string{"127.0.0.1", "::1"}},
		{"10.0.0.1", nil},
		{"127.0.0.5-127.0.0.3", nil},
		{"127.0.0.1-127.0.1.2", nil},
		{"127.0.0.1-10.0.0.9", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := parseSources(tt.spec)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("parseSources(%q) = %v, want an error", tt.spec, got)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("parseSources(%q) = %v, %v; want %v", tt.spec, got, err, tt.want)
			}
			for i, ip := range got {
				if !ip.Equal(net.ParseIP(tt.want[i])) {
					t.Errorf("address %d = %s, want %s", i, ip, tt.want[i])
				}
			}
		})
	}
}

func TestParseConfigBounds(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{"defaults", nil, true},
		{"remote target", []string{"-url", "https://203.0.113.5"}, false},
		{"remote flood source", []string{"-flood-src", "192.0.2.1"}, false},
		{"remote slow source", []string{"-slow-src", "192.0.2.1"}, false},
		{"too long", []string{"-duration", "11m"}, false},
		{"too many slow connections", []string{"-slowloris", "4000", "-slow-read", "1001"}, false},
		{"unknown role", []string{"-role", "admin"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, io.Discard)
			if (err == nil) != tt.ok {
				t.Fatalf("parseConfig(%q) error = %v, want ok=%v", tt.args, err, tt.ok)
			}
		})
	}
}

func TestClassStatsCountsOnly2xxAsSuccess(t *testing.T) {
	s := newClassStats("legit")
	s.recordStatus(200, nil, time.Millisecond)
	s.recordStatus(204, nil, time.Millisecond)
	s.recordStatus(429, nil, time.Millisecond)
	s.recordStatus(0, errBacklog, 0)
	sum := s.summary()
	if sum.total != 4 || sum.ok != 2 || s.successRate() != 0.5 {
		t.Fatalf("total %d ok %d rate %v, want 4, 2, 0.5", sum.total, sum.ok, s.successRate())
	}
	if sum.outcomes["429"] != 1 || sum.outcomes["err:client_backlog"] != 1 {
		t.Errorf("outcomes = %v", sum.outcomes)
	}
}
