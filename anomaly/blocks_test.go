package anomaly

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func newTestBlocks(tb testing.TB, cfg BlocksConfig) (*Blocks, *fakeClock) {
	tb.Helper()
	clk := newFakeClock()
	cfg.Now = clk.Now
	return NewBlocks(cfg), clk
}

func TestBlocksTTLEscalates(t *testing.T) {
	b, clk := newTestBlocks(t, BlocksConfig{BaseTTL: time.Minute, MaxTTL: 10 * time.Minute, Memory: time.Hour})
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	for i, ttl := range want {
		got, err := b.Block(BlockSubject, "svc", 0, "extraction")
		mustNoErr(t, err)
		if got.Offences != i+1 || got.Until.Sub(clk.Now()) != ttl {
			t.Fatalf("offence %d: got %d offences, ttl %v; want ttl %v", i+1, got.Offences, got.Until.Sub(clk.Now()), ttl)
		}
		if _, ok := b.Blocked(BlockSubject, "svc"); !ok {
			t.Fatalf("offence %d: not blocked", i+1)
		}
		clk.Advance(ttl) // expires exactly now
		if _, ok := b.Blocked(BlockSubject, "svc"); ok {
			t.Fatalf("offence %d: still blocked after its ttl", i+1)
		}
	}
	clk.Advance(time.Hour + time.Second) // history forgotten
	got, err := b.Block(BlockSubject, "svc", 0, "again")
	mustNoErr(t, err)
	if got.Offences != 1 || got.Until.Sub(clk.Now()) != time.Minute {
		t.Errorf("after the memory: %d offences, ttl %v; want a first offence", got.Offences, got.Until.Sub(clk.Now()))
	}
}

func TestBlocksReblockNeverShortens(t *testing.T) {
	b, clk := newTestBlocks(t, BlocksConfig{BaseTTL: time.Minute})
	first, err := b.BlockExact(BlockIP, "10.0.0.1", time.Hour, "admin")
	mustNoErr(t, err)
	clk.Advance(time.Minute)
	again, err := b.Block(BlockIP, "10.0.0.1", 0, "dos")
	mustNoErr(t, err)
	if !again.Until.Equal(first.Until) || !again.Since.Equal(first.Since) || again.Offences != 2 {
		t.Errorf("re-block %+v shortened or lost %+v", again, first)
	}
	exact, err := b.BlockExact(BlockIP, "10.0.0.9", 3*time.Minute, "admin")
	mustNoErr(t, err)
	if exact.Until.Sub(exact.Since) != 3*time.Minute {
		t.Errorf("BlockExact ttl %v", exact.Until.Sub(exact.Since))
	}
}

func TestBlocksUnblockKeepsHistory(t *testing.T) {
	b, _ := newTestBlocks(t, BlocksConfig{BaseTTL: time.Minute})
	_, err := b.Block(BlockSubject, "svc", 0, "x")
	mustNoErr(t, err)
	ok, err := b.Unblock(BlockSubject, "svc")
	mustNoErr(t, err)
	if !ok {
		t.Fatal("Unblock found no block")
	}
	if _, blocked := b.Blocked(BlockSubject, "svc"); blocked || len(b.List()) != 0 {
		t.Fatal("still blocked after Unblock")
	}
	if ok, _ := b.Unblock(BlockSubject, "svc"); ok {
		t.Error("second Unblock reported a block")
	}
	again, err := b.Block(BlockSubject, "svc", 0, "x")
	mustNoErr(t, err)
	if again.Offences != 2 || again.Until.Sub(again.Since) != 2*time.Minute {
		t.Errorf("after unblock: %+v, want the second offence", again)
	}
}

func TestBlocksIPKeys(t *testing.T) {
	cases := []struct {
		block, probe string
		blocked      bool
	}{
		{"192.0.2.1", "192.0.2.1", true},
		{"::ffff:192.0.2.2", "192.0.2.2", true},
		{"192.0.2.3", "::ffff:192.0.2.3", true},
		{"192.0.2.4", "192.0.2.5", false},
		{"2001:db8:1:2::/64", "2001:db8:1:2::77", true},
		{"2001:db8:1:2::99/64", "2001:db8:1:3::1", false},
		{"198.51.100.0/24", "198.51.100.200", true},
		{"::ffff:203.0.113.0/120", "203.0.113.9", true},
		{"203.0.114.1/32", "203.0.114.1", true},
		{"fe80::1%eth0", "fe80::1", true},
		{"192.0.2.6", "not-an-ip", false},
	}
	for _, tc := range cases {
		t.Run(tc.block+" "+tc.probe, func(t *testing.T) {
			b, _ := newTestBlocks(t, BlocksConfig{})
			_, err := b.Block(BlockIP, tc.block, 0, "t")
			mustNoErr(t, err)
			if _, got := b.Blocked(BlockIP, tc.probe); got != tc.blocked {
				t.Errorf("Blocked(%s) = %v, want %v", tc.probe, got, tc.blocked)
			}
		})
	}
}

func TestBlocksRejectsBadKeys(t *testing.T) {
	b, _ := newTestBlocks(t, BlocksConfig{})
	long := fmt.Sprintf("%0300d", 0)
	for _, tc := range []struct {
		kind BlockKind
		key  string
	}{{"ip", "999.1.1.1"}, {"ip", "1.2.3.4/33"}, {"ip", ""}, {"subject", ""}, {"subject", long}, {"user", "x"}} {
		if _, err := b.Block(tc.kind, tc.key, 0, ""); !errors.Is(err, ErrInvalidBlock) {
			t.Errorf("Block(%s, %q) err = %v, want ErrInvalidBlock", tc.kind, tc.key, err)
		}
		if _, err := b.Unblock(tc.kind, tc.key); !errors.Is(err, ErrInvalidBlock) {
			t.Errorf("Unblock(%s, %q) err = %v, want ErrInvalidBlock", tc.kind, tc.key, err)
		}
	}
}

func TestBlocksBounded(t *testing.T) {
	b, clk := newTestBlocks(t, BlocksConfig{MaxEntries: 3, BaseTTL: time.Minute})
	for i := range 10 {
		clk.Advance(time.Second)
		_, err := b.Block(BlockSubject, fmt.Sprint("s", i), time.Duration(i+1)*time.Minute, "")
		mustNoErr(t, err)
		if b.Len() > 3 {
			t.Fatalf("%d entries held, cap 3", b.Len())
		}
	}
	if _, ok := b.Blocked(BlockSubject, "s9"); !ok {
		t.Error("newest block evicted")
	}
	if _, ok := b.Blocked(BlockSubject, "s0"); ok {
		t.Error("the block ending soonest survived")
	}
}

func TestBlocksListActiveOnlyOldestFirst(t *testing.T) {
	b, clk := newTestBlocks(t, BlocksConfig{})
	mustBlock := func(kind BlockKind, key string, ttl time.Duration) {
		t.Helper()
		_, err := b.BlockExact(kind, key, ttl, "r")
		mustNoErr(t, err)
	}
	mustBlock(BlockIP, "10.0.0.1", time.Hour)
	clk.Advance(time.Second)
	mustBlock(BlockSubject, "svc", time.Minute)
	mustBlock(BlockSubject, "gone", time.Second)
	clk.Advance(time.Second)
	got := b.List()
	if len(got) != 2 || got[0].Key != "10.0.0.1" || got[1].Key != "svc" {
		t.Errorf("List() = %+v", got)
	}
}

func FuzzBlockKey(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "::ffff:1.2.3.4", "2001:db8::/64", "10.0.0.0/8", "fe80::1%eth0", "x", "", "1.2.3.4/40"} {
		f.Add("ip", s)
	}
	f.Add("subject", "svc")
	f.Fuzz(func(t *testing.T, kind, key string) {
		k, _, err := canonicalKey(BlockKind(kind), key)
		if err != nil {
			return
		}
		again, _, err := canonicalKey(k.kind, k.key)
		if err != nil || again != k {
			t.Fatalf("canonical key %q not stable: %q, %v", k.key, again.key, err)
		}
	})
}
