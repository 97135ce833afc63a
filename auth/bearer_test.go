package auth

import (
	"errors"
	"strings"
	"testing"
)

var bearerCases = []struct {
	name, header, want string
	err                error
}{
	{"plain", "Bearer abc.def.ghi", "abc.def.ghi", nil},
	{"lowercase scheme", "bearer abc.def.ghi", "abc.def.ghi", nil},
	{"extra spaces", "  Bearer   abc.def-_~+/==  ", "abc.def-_~+/==", nil},
	{"empty", "", "", ErrNoToken},
	{"blank", " \t ", "", ErrNoToken},
	{"basic", "Basic dXNlcjpwYXNz", "", ErrNoToken},
	{"scheme prefix", "Bearerabc.def.ghi", "", ErrNoToken},
	{"scheme only", "Bearer", "", ErrMalformed},
	{"scheme and space", "Bearer ", "", ErrMalformed},
	{"two tokens", "Bearer abc def", "", ErrMalformed},
	{"tab inside", "Bearer abc\tdef", "", ErrMalformed},
	{"quote", `Bearer "abc"`, "", ErrMalformed},
	{"only padding", "Bearer ===", "", ErrMalformed},
	{"padding inside", "Bearer ab=c", "", ErrMalformed},
	{"comma", "Bearer abc, Bearer def", "", ErrMalformed},
	{"non-ascii", "Bearer abcé", "", ErrMalformed},
	{"too long", "Bearer " + strings.Repeat("a", maxTokenLen+1), "", ErrMalformed},
}

func TestBearerToken(t *testing.T) {
	for _, tc := range bearerCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := BearerToken(tc.header)
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tc.header, got, err, tc.want, tc.err)
			}
		})
	}
}

func FuzzBearerToken(f *testing.F) {
	for _, tc := range bearerCases {
		f.Add(tc.header)
	}
	f.Fuzz(func(t *testing.T, header string) {
		tok, err := BearerToken(header)
		if err != nil {
			if tok != "" || (!errors.Is(err, ErrNoToken) && !errors.Is(err, ErrMalformed)) {
				t.Fatalf("BearerToken(%q) = %q, %v", header, tok, err)
			}
			return
		}
		if tok == "" || len(tok) > maxTokenLen || strings.ContainsAny(tok, " \t\r\n,\"") {
			t.Fatalf("BearerToken(%q) = %q", header, tok)
		}
		if again, err := BearerToken("Bearer " + tok); err != nil || again != tok {
			t.Fatalf("round trip of %q = %q, %v", tok, again, err)
		}
	})
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{ErrNoToken, "missing_token"},
		{ErrMalformed, "malformed_token"},
		{ErrExpired, "token_expired"},
		{ErrNotYetValid, "token_not_yet_valid"},
		{ErrBadSignature, "bad_signature"},
		{ErrUnknownKey, "unknown_key"},
		{ErrInvalidClaims, "invalid_claims"},
		{errors.New("boom"), "unauthenticated"},
		{nil, "unauthenticated"},
	} {
		if got := Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
