package anomaly

import (
	"sync"
	"testing"
	"time"
)

// t0 is the tests' epoch.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for the hub and the block list.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// mustNoErr fails the test on err.
func mustNoErr(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// testAlert is a valid alert of kind k for subject.
func testAlert(k Kind, subject string) Alert {
	return Alert{Kind: k, Severity: SeverityWarning, Subject: subject, IP: "10.0.0.1",
		Action: ActionThrottled, Evidence: map[string]any{"n": 1}}
}
