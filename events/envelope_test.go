package events

import (
	"crypto/rand"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var testNow = time.Date(2024, 3, 9, 14, 5, 7, 0, time.UTC)

func newTestSigner(tb testing.TB, alg string) *Signer {
	tb.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		tb.Fatal(err)
	}
	s, err := NewSigner("k-"+alg+"-"+b64.EncodeToString(key[:6]), alg, key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func newTestVerifier(tb testing.TB, entries ...KeyEntry) *Verifier {
	tb.Helper()
	ks, err := NewKeyset(entries...)
	if err != nil {
		tb.Fatal(err)
	}
	return NewVerifier(ks, 0)
}

func signedRecord(tb testing.TB, s *Signer) *kgo.Record {
	tb.Helper()
	r := &kgo.Record{Topic: "movielog", Key: []byte("42"), Value: []byte("2024-03-09T14:05:07,42,GET /rate/heat=4")}
	if err := s.Sign(r, testNow); err != nil {
		tb.Fatal(err)
	}
	return r
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func setHeader(r *kgo.Record, key, value string) {
	for i, h := range r.Headers {
		if h.Key == key {
			r.Headers[i].Value = []byte(value)
		}
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, alg := range []string{AlgEdDSA, AlgHS256} {
		t.Run(alg, func(t *testing.T) {
			s := newTestSigner(t, alg)
			v := newTestVerifier(t, s.VerifyKey())
			r := signedRecord(t, s)
			if err := v.Verify(r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := map[string]string{HeaderVersion: "1", HeaderKeyID: s.KeyID(), HeaderPID: s.PID(),
				HeaderSeq: "1", HeaderTime: strconv.FormatInt(testNow.UnixMilli(), 10)}
			for k, w := range want {
				if got := header(r, k); got != w {
					t.Errorf("header %s = %q, want %q", k, got, w)
				}
			}
			if !r.Timestamp.Equal(testNow) {
				t.Errorf("Timestamp = %v, want %v", r.Timestamp, testNow)
			}
		})
	}
}

func TestSignReplacesHeaders(t *testing.T) {
	s := newTestSigner(t, AlgEdDSA)
	v := newTestVerifier(t, s.VerifyKey())
	r := signedRecord(t, s)
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: "trace", Value: []byte("x")})
	if err := s.Sign(r, testNow); err != nil {
		t.Fatal(err)
	}
	if len(r.Headers) != len(sigHeaders)+1 || header(r, "trace") != "x" || header(r, HeaderSeq) != "2" {
		t.Fatalf("headers after re-sign: %v", r.Headers)
	}
	if err := v.Verify(r); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	s := newTestSigner(t, AlgEdDSA)
	other := newTestSigner(t, AlgEdDSA)
	revoked := other.VerifyKey()
	revoked.Status = StatusRevoked
	tests := []struct {
		name   string
		tamper func(r *kgo.Record)
		want   error
	}{
		{"tampered value", func(r *kgo.Record) { r.Value = append(r.Value, '!') }, ErrBadSignature},
		{"tampered key", func(r *kgo.Record) { r.Key = []byte("43") }, ErrBadSignature},
		{"key/value boundary shift", func(r *kgo.Record) { r.Key = []byte("4"); r.Value = append([]byte("2"), r.Value...) }, ErrBadSignature},
		{"tampered topic", func(r *kgo.Record) { r.Topic = "recommendations" }, ErrBadSignature},
		{"tampered seq", func(r *kgo.Record) { setHeader(r, HeaderSeq, "7") }, ErrBadSignature},
		{"tampered ts", func(r *kgo.Record) { setHeader(r, HeaderTime, strconv.FormatInt(testNow.UnixMilli()+1, 10)) }, ErrBadSignature},
		{"tampered sig", func(r *kgo.Record) { setHeader(r, HeaderSig, b64.EncodeToString(make([]byte, 64))) }, ErrBadSignature},
		{"unknown kid", func(r *kgo.Record) { setHeader(r, HeaderKeyID, "nobody") }, ErrUnknownKey},
		{"revoked kid", func(r *kgo.Record) { *r = *signedRecord(t, other) }, ErrRevokedKey},
		{"stripped header", func(r *kgo.Record) { r.Headers = r.Headers[:len(r.Headers)-1] }, ErrUnsigned},
		{"no headers", func(r *kgo.Record) { r.Headers = nil }, ErrUnsigned},
		{"duplicate header", func(r *kgo.Record) { r.Headers = append(r.Headers, r.Headers[1]) }, ErrMalformed},
		{"version 2", func(r *kgo.Record) { setHeader(r, HeaderVersion, "2") }, ErrMalformed},
		{"seq zero", func(r *kgo.Record) { setHeader(r, HeaderSeq, "0") }, ErrMalformed},
		{"seq leading zero", func(r *kgo.Record) { setHeader(r, HeaderSeq, "01") }, ErrMalformed},
		{"pid not hex", func(r *kgo.Record) { setHeader(r, HeaderPID, "zz") }, ErrMalformed},
		{"sig not base64url", func(r *kgo.Record) { setHeader(r, HeaderSig, "a+b/") }, ErrMalformed},
		{"skew ahead", func(r *kgo.Record) { r.Timestamp = testNow.Add(-6 * time.Minute) }, ErrSkew},
		{"skew behind", func(r *kgo.Record) { r.Timestamp = testNow.Add(6 * time.Minute) }, ErrSkew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, s.VerifyKey(), revoked)
			r := signedRecord(t, s)
			tt.tamper(r)
			err := v.Verify(r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if Reason(err) == "invalid" || Reason(err) == "" {
				t.Fatalf("Reason(%v) = %q", err, Reason(err))
			}
		})
	}
}

func TestVerifySkewWithinLimit(t *testing.T) {
	s := newTestSigner(t, AlgEdDSA)
	v := newTestVerifier(t, s.VerifyKey())
	r := signedRecord(t, s)
	r.Timestamp = testNow.Add(4 * time.Minute)
	if err := v.Verify(r); err != nil {
		t.Fatalf("Verify within skew: %v", err)
	}
}

func TestAlgBoundToKid(t *testing.T) {
	// The keyset binds the kid to EdDSA. A forger who knows only the public
	// key signs with HMAC using the public key bytes as the secret and adds
	// an alg header: it must not verify.
	ed := newTestSigner(t, AlgEdDSA)
	pub, err := b64.DecodeString(ed.VerifyKey().Key)
	if err != nil {
		t.Fatal(err)
	}
	forger, err := NewSigner(ed.KeyID(), AlgHS256, pub)
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, ed.VerifyKey())
	r := signedRecord(t, forger)
	r.Headers = append(r.Headers, kgo.RecordHeader{Key: "sig-alg", Value: []byte(AlgHS256)})
	if err := v.Verify(r); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("HMAC forgery with the public key: Verify = %v, want ErrBadSignature", err)
	}
}

func TestReason(t *testing.T) {
	tests := map[error]string{
		nil: "", ErrUnsigned: "unsigned", ErrMalformed: "malformed", ErrUnknownKey: "unknown_kid",
		ErrRevokedKey: "revoked_kid", ErrBadSignature: "bad_signature", ErrReplay: "replay", ErrSkew: "skew",
		errors.New("x"): "invalid",
	}
	for err, want := range tests {
		if got := Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	s, err := NewSigner("fuzz", AlgEdDSA, make([]byte, 32))
	if err != nil {
		f.Fatal(err)
	}
	ks, err := NewKeyset(s.VerifyKey())
	if err != nil {
		f.Fatal(err)
	}
	r := signedRecord(f, s)
	f.Add(header(r, HeaderVersion), header(r, HeaderKeyID), header(r, HeaderTime), header(r, HeaderPID), "2", header(r, HeaderSig), []byte("v"))
	f.Add("1", "fuzz", "0", "00", "01", "", []byte(nil))
	f.Add("", "", "", "", "", "", []byte{})
	f.Fuzz(func(t *testing.T, ver, kid, ts, pid, seq, sig string, value []byte) {
		v := NewVerifier(ks, 0)
		rec := &kgo.Record{Topic: "movielog", Value: value, Timestamp: testNow, Headers: []kgo.RecordHeader{
			{Key: HeaderVersion, Value: []byte(ver)}, {Key: HeaderKeyID, Value: []byte(kid)},
			{Key: HeaderTime, Value: []byte(ts)}, {Key: HeaderPID, Value: []byte(pid)},
			{Key: HeaderSeq, Value: []byte(seq)}, {Key: HeaderSig, Value: []byte(sig)},
		}}
		err := v.Verify(rec)
		if err == nil {
			t.Fatalf("random headers verified: %v", rec.Headers)
		}
		if Reason(err) == "invalid" {
			t.Fatalf("error without a reason: %v", err)
		}
	})
}
