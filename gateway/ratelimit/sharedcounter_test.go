package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

// TestCheckSharedDistinctAcrossReplicas: two replicas with their own clients
// count one subject's distinct members together, a member seen on both
// counting once, so a scraper spreading its targets over replicas is seen
// whole by each.
func TestCheckSharedDistinctAcrossReplicas(t *testing.T) {
	first, _ := newTestRedis(t)
	replicas := []*Redis{first, NewRedis(newRedisClient(t), first.prefix)}
	r := Rate{PerSecond: 1e6, Burst: 1e6}
	const n = 400
	var last [2]int64
	for i := range n {
		member := strconv.Itoa(i)
		if i%10 == 9 {
			member = strconv.Itoa(i - 1) // a repeat, sent to the other replica
		}
		v := mustCheck(t, replicas[i%2], Request{Subject: "scraper", Rate: r, Counters: []Counter{
			{Name: "targets", Window: time.Minute, Member: member}}})
		last[i%2] = v.Counters[0]
	}
	want := float64(n - n/10)
	for i, got := range last {
		if d := float64(got) - want; d > want*0.02 || d < -want*0.02 {
			t.Errorf("replica %d counts %d distinct, want %v within 2%% (HyperLogLog)", i, got, want)
		}
	}
	other := mustCheck(t, replicas[1], Request{Subject: "someone-else", Rate: r, Counters: []Counter{
		{Name: "targets", Window: time.Minute, Member: "1"}}})
	if other.Counters[0] != 1 {
		t.Errorf("another subject counts %d, want its own 1", other.Counters[0])
	}
}

// TestCheckDistinctSlides: members older than the window no longer count,
// and the count never covers more than the window.
func TestCheckDistinctSlides(t *testing.T) {
	l, _ := newTestRedis(t)
	r := Rate{PerSecond: 1e6, Burst: 1e6}
	check := func(member string) int64 {
		return mustCheck(t, l, Request{Subject: "svc", Rate: r, Counters: []Counter{
			{Name: "targets", Window: 100 * time.Millisecond, Member: member}, {Name: "reqs", Window: time.Minute}}}).Counters[0]
	}
	for i := range 5 {
		check(strconv.Itoa(i))
	}
	time.Sleep(250 * time.Millisecond) // over two windows: both half windows have ended
	if got := check("new"); got != 1 {
		t.Fatalf("count after the window = %d, want 1 (only the new member)", got)
	}
}
