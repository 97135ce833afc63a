package auth

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMemoryRevocations(t *testing.T) {
	now := time.Now()
	m := NewMemoryRevocations(2)
	m.now = func() time.Time { return now }
	ctx := t.Context()
	if err := m.Revoke("a", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	m.Revoke("b", now.Add(time.Minute))
	m.Revoke("expired", now.Add(-time.Minute)) // nothing to deny
	if err := m.Revoke("c", now.Add(time.Hour)); !errors.Is(err, ErrRevocationListFull) {
		t.Fatalf("third live entry: %v, want ErrRevocationListFull (never drop a live one)", err)
	}
	for jti, want := range map[string]bool{"a": true, "b": true, "c": false, "expired": false} {
		if got, err := m.Revoked(ctx, jti); got != want || err != nil {
			t.Errorf("Revoked(%s) = %v, %v; want %v", jti, got, err, want)
		}
	}
	now = now.Add(2 * time.Minute) // b's token has expired: its entry goes
	if got, _ := m.Revoked(ctx, "b"); got {
		t.Error("b still denied after its expiry")
	}
	if err := m.Revoke("c", now.Add(time.Hour)); err != nil {
		t.Errorf("room after expiry: %v", err)
	}
	m.Revoke("a", now.Add(-time.Hour)) // an earlier time never shortens a revocation
	if got, _ := m.Revoked(ctx, "a"); !got {
		t.Error("re-revoking with an earlier time un-revoked a")
	}
}

type failingList struct{}

func (failingList) Revoked(context.Context, string) (bool, error) {
	return false, errors.New("redis down")
}

func TestCheckRevoked(t *testing.T) {
	k := newTestKeys(t)
	tok, _ := k.signer.Mint("42", "user", time.Hour)
	p, err := k.verifier.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	list := NewMemoryRevocations(0)
	ctx := t.Context()
	if err := CheckRevoked(ctx, list, p); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	list.Revoke(p.TokenID, p.Expires)
	err = CheckRevoked(ctx, list, p)
	if !errors.Is(err, ErrRevoked) || Reason(err) != "token_revoked" {
		t.Errorf("after revocation: %v (%s), want token_revoked", err, Reason(err))
	}
	// The verified-token cache does not hide a revocation: it is checked per call.
	if p2, err := k.verifier.Verify(tok); err != nil || !errors.Is(CheckRevoked(ctx, list, p2), ErrRevoked) {
		t.Errorf("cached token after revocation: %v", err)
	}
	if err := CheckRevoked(ctx, failingList{}, p); err == nil || errors.Is(err, ErrRevoked) {
		t.Errorf("list failure = %v, want an error that is not ErrRevoked", err)
	}
	if err := CheckRevoked(ctx, list, Principal{Subject: "42"}); err != nil {
		t.Errorf("token without jti: %v", err)
	}
}
