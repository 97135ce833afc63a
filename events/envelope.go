package events

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Header names of the signed envelope (DESIGN.md, "Kafka topics and the
// signed envelope").
const (
	HeaderVersion = "sig-v"
	HeaderKeyID   = "sig-kid"
	HeaderTime    = "sig-ts"
	HeaderPID     = "sig-pid"
	HeaderSeq     = "sig-seq"
	HeaderSig     = "sig"

	envelopeVersion = "1"
	domain          = "reelguard-event/v1"
)

// Algorithms a key may be bound to in a keyset.
const (
	AlgEdDSA = "EdDSA" // Ed25519, the default
	AlgHS256 = "HS256" // HMAC-SHA256, for high-rate topics with trusted consumers
)

const minHMACKeyLen = 32

var sigHeaders = [...]string{HeaderVersion, HeaderKeyID, HeaderTime, HeaderPID, HeaderSeq, HeaderSig}

var b64 = base64.RawURLEncoding

// Signer signs records for one key. Each Signer picks a random producer id
// (sig-pid) when it is made and numbers its records from 1 (sig-seq), so a
// restarted process never reuses a (pid, seq). Safe for concurrent use.
type Signer struct {
	kid    string
	alg    string
	ed     ed25519.PrivateKey
	secret []byte
	pid    string
	seq    atomic.Uint64
}

// NewSigner makes a Signer for kid. For EdDSA, key is the 32-byte Ed25519
// seed; for HS256 it is the secret (at least 32 bytes).
func NewSigner(kid, alg string, key []byte) (*Signer, error) {
	if err := checkKid(kid); err != nil {
		return nil, err
	}
	s := &Signer{kid: kid, alg: alg}
	switch alg {
	case AlgEdDSA:
		if len(key) != ed25519.SeedSize {
			return nil, fmt.Errorf("signer %s: ed25519 seed must be %d bytes", kid, ed25519.SeedSize)
		}
		s.ed = ed25519.NewKeyFromSeed(key)
	case AlgHS256:
		if len(key) < minHMACKeyLen {
			return nil, fmt.Errorf("signer %s: hmac secret must be at least %d bytes", kid, minHMACKeyLen)
		}
		s.secret = append([]byte(nil), key...)
	default:
		return nil, fmt.Errorf("signer %s: unsupported alg %q", kid, alg)
	}
	var pid [16]byte
	if _, err := rand.Read(pid[:]); err != nil {
		return nil, fmt.Errorf("signer %s: producer id: %w", kid, err)
	}
	s.pid = hex.EncodeToString(pid[:])
	return s, nil
}

// KeyID returns the signer's kid.
func (s *Signer) KeyID() string { return s.kid }

// PID returns the producer id this Signer puts in sig-pid.
func (s *Signer) PID() string { return s.pid }

// VerifyKey returns the keyset entry that verifies this Signer's records.
// For HS256 it carries the secret itself.
func (s *Signer) VerifyKey() KeyEntry {
	e := KeyEntry{Kid: s.kid, Alg: s.alg, Status: StatusActive}
	if s.alg == AlgEdDSA {
		e.Key = b64.EncodeToString(s.ed.Public().(ed25519.PublicKey))
	} else {
		e.Key = b64.EncodeToString(s.secret)
	}
	return e
}

// LogValue keeps key material out of logs.
func (s *Signer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", s.kid), slog.String("alg", s.alg), slog.String("pid", s.pid))
}

// Sign stamps r with a fresh envelope: it drops any sig-* headers r already
// has and appends sig-v, sig-kid, sig-ts (now), sig-pid, sig-seq and sig.
// A zero r.Timestamp is set to now, so the broker's CreateTime agrees with
// sig-ts.
func (s *Signer) Sign(r *kgo.Record, now time.Time) error {
	if r == nil {
		return errors.New("sign: nil record")
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	seq := strconv.FormatUint(s.seq.Add(1), 10)
	msg, err := signedBytes(r.Topic, r.Key, r.Value, ts, s.pid, seq, s.kid)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	var sig []byte
	if s.alg == AlgEdDSA {
		sig = ed25519.Sign(s.ed, msg)
	} else {
		sig = hmacSHA256(s.secret, msg)
	}
	headers := make([]kgo.RecordHeader, 0, len(r.Headers)+len(sigHeaders))
	for _, h := range r.Headers {
		if !isSigHeader(h.Key) {
			headers = append(headers, h)
		}
	}
	r.Headers = append(headers,
		kgo.RecordHeader{Key: HeaderVersion, Value: []byte(envelopeVersion)},
		kgo.RecordHeader{Key: HeaderKeyID, Value: []byte(s.kid)},
		kgo.RecordHeader{Key: HeaderTime, Value: []byte(ts)},
		kgo.RecordHeader{Key: HeaderPID, Value: []byte(s.pid)},
		kgo.RecordHeader{Key: HeaderSeq, Value: []byte(seq)},
		kgo.RecordHeader{Key: HeaderSig, Value: []byte(b64.EncodeToString(sig))},
	)
	if r.Timestamp.IsZero() {
		r.Timestamp = now.Truncate(time.Millisecond)
	}
	return nil
}

func isSigHeader(key string) bool {
	for _, h := range sigHeaders {
		if key == h {
			return true
		}
	}
	return false
}

// signedBytes is the domain-separated message a signature covers: each
// field as a big-endian uint32 length followed by its bytes.
func signedBytes(topic string, key, value []byte, ts, pid, seq, kid string) ([]byte, error) {
	fields := [...][]byte{[]byte(domain), []byte(topic), key, value, []byte(ts), []byte(pid), []byte(seq), []byte(kid)}
	n := 0
	for _, f := range fields {
		if len(f) > math.MaxUint32-4 {
			return nil, fmt.Errorf("%w: field of %d bytes", ErrMalformed, len(f))
		}
		n += 4 + len(f)
	}
	buf := make([]byte, 0, n)
	for _, f := range fields {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(f)))
		buf = append(buf, f...)
	}
	return buf, nil
}

func hmacSHA256(secret, msg []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(msg)
	return m.Sum(nil)
}

func checkKid(kid string) error {
	if kid == "" || len(kid) > maxKidLen {
		return fmt.Errorf("kid must be 1..%d bytes", maxKidLen)
	}
	return nil
}

const maxKidLen = 128
