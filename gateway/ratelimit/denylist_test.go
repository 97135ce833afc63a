package ratelimit

import (
	"slices"
	"testing"
	"time"
)

func TestDenyList(t *testing.T) {
	clock := newFakeClock()
	d := newDenyList(clock.Now)
	d.Block(KindIP, "::ffff:192.0.2.1", time.Time{})
	d.Block(KindIP, "2001:db8::1", clock.Now().Add(time.Minute))
	d.Block(KindSubject, "mallory", clock.Now().Add(time.Minute))
	d.Block("asn", "64500", time.Time{}) // unknown kind: ignored
	d.Revoke("j1", clock.Now().Add(time.Minute))
	cases := []struct {
		ip, sub string
		want    string
	}{
		{"192.0.2.1", "alice", BlockedIP},
		{"2001:db8::1", "alice", BlockedIP},
		{"2001:db8::2", "alice", ""}, // one address, not its /64
		{"192.0.2.2", "mallory", BlockedSubject},
		{"", "alice", ""},
		{"not-an-ip", "", ""},
	}
	for _, tc := range cases {
		if got := d.Blocked(tc.ip, tc.sub); got != tc.want {
			t.Errorf("Blocked(%q, %q) = %q, want %q", tc.ip, tc.sub, got, tc.want)
		}
	}
	if !d.Revoked("j1") || d.Revoked("j2") || d.Revoked("") {
		t.Error("revocations wrong")
	}
	values := func() []string {
		var v []string
		for _, b := range d.Blocks() {
			v = append(v, b.Kind+":"+b.Value)
		}
		return v
	}
	if got, want := values(), []string{"ip:192.0.2.1", "ip:2001:db8::1", "subject:mallory"}; !slices.Equal(got, want) {
		t.Fatalf("Blocks = %v, want %v", got, want)
	}
	clock.Advance(time.Minute)
	if d.Blocked("2001:db8::1", "mallory") != "" || d.Revoked("j1") {
		t.Fatal("entries outlived their expiry")
	}
	d.Unblock(KindIP, "192.0.2.1")
	if got := values(); len(got) != 0 {
		t.Fatalf("Blocks after expiry and unblock = %v", got)
	}
}

func TestMemoryCounterWindows(t *testing.T) {
	clock := newFakeClock()
	m := newMemory(nil, clock.Now)
	req := func(member string) Request {
		return Request{Subject: "svc", Rate: Rate{PerSecond: 1e6, Burst: 1e6}, Counters: []Counter{
			{Name: "reqs", Window: time.Minute}, {Name: "users", Window: time.Minute, Member: member}}}
	}
	for _, m2 := range []string{"a", "b", "a"} {
		mustCheck(t, m, req(m2))
	}
	if v := mustCheck(t, m, req("c")); !slices.Equal(v.Counters, []int64{4, 3}) {
		t.Fatalf("counters %v, want [4 3]", v.Counters)
	}
	clock.Advance(time.Minute)
	if v := mustCheck(t, m, req("a")); !slices.Equal(v.Counters, []int64{1, 1}) {
		t.Fatalf("counters in a new window %v, want [1 1]", v.Counters)
	}
}
