package gateway

import (
	"net"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestConnLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	rejected := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_rejected"})
	l := newConnLimitListener(inner, 2, 3, rejected)
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"10.0.0.1", true}, {"10.0.0.1", true}, {"10.0.0.1", false}, // per address
		{"10.0.0.2", true}, {"10.0.0.3", false}, // in all
	} {
		if got := l.acquire(tc.ip); got != tc.want {
			t.Errorf("acquire(%s) = %v, want %v (open %d)", tc.ip, got, tc.want, l.open)
		}
	}
	l.releaseIP("10.0.0.1")
	if !l.acquire("10.0.0.3") {
		t.Error("a slot released in all was not reusable by another address")
	}
}
