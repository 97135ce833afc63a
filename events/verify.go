package events

import (
	"crypto/ed25519"
	"crypto/hmac"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Verification failures; Reason maps each to a stable id.
var (
	ErrUnsigned     = errors.New("record is not signed")
	ErrMalformed    = errors.New("malformed signature envelope")
	ErrUnknownKey   = errors.New("unknown signing key")
	ErrRevokedKey   = errors.New("revoked signing key")
	ErrBadSignature = errors.New("bad signature")
	ErrReplay       = errors.New("replayed record")
	ErrSkew         = errors.New("signature time too far from record time")
	// ErrTimestampType: the record carries a producer (CreateTime)
	// timestamp where the Verifier requires the broker's LogAppendTime.
	ErrTimestampType = errors.New("record timestamp is not the broker's append time")
)

// DefaultMaxSkew is the allowed distance between sig-ts and the record's
// broker timestamp when NewVerifier gets 0.
const DefaultMaxSkew = 5 * time.Minute

// maxSigLen bounds the base64url sig header; both algorithms need 86 bytes.
const maxSigLen = 128

// Reason returns a stable id for a verification error: "unsigned",
// "malformed", "unknown_kid", "revoked_kid", "bad_signature", "replay",
// "skew", "timestamp_type"; "invalid" for any other error and "" for nil.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrUnsigned):
		return "unsigned"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrUnknownKey):
		return "unknown_kid"
	case errors.Is(err, ErrRevokedKey):
		return "revoked_kid"
	case errors.Is(err, ErrBadSignature):
		return "bad_signature"
	case errors.Is(err, ErrReplay):
		return "replay"
	case errors.Is(err, ErrSkew):
		return "skew"
	case errors.Is(err, ErrTimestampType):
		return "timestamp_type"
	}
	return "invalid"
}

// Verifier checks signed records against a keyset and rejects replays.
// Safe for concurrent use.
//
// The skew check compares sig-ts with the record's timestamp. Kafka (and
// kfake, so bin/devbroker) keep the producer's CreateTime unless the topic
// sets message.timestamp.type=LogAppendTime, and our Signer sets CreateTime
// to sig-ts, so by default the check bounds only how stale a producer's
// clock or a re-stamped record may be. With RequireLogAppendTime the
// timestamp is the broker's own, and a replay older than maxSkew fails even
// after the replay window forgot its producer.
type Verifier struct {
	keys          *Keyset
	maxSkew       time.Duration
	logAppendTime bool
	replay        *replayGuard
}

// VerifierOption tunes a Verifier.
type VerifierOption func(*Verifier)

// RequireLogAppendTime rejects records whose timestamp is the producer's
// (CreateTime) with ErrTimestampType: use it on topics configured with
// message.timestamp.type=LogAppendTime.
func RequireLogAppendTime() VerifierOption {
	return func(v *Verifier) { v.logAppendTime = true }
}

// NewVerifier returns a Verifier for ks; maxSkew 0 means DefaultMaxSkew.
func NewVerifier(ks *Keyset, maxSkew time.Duration, opts ...VerifierOption) *Verifier {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	if ks == nil {
		ks = &Keyset{}
	}
	v := &Verifier{keys: ks, maxSkew: maxSkew, replay: newReplayGuard(defaultMaxProducers)}
	for _, opt := range opts {
		opt(v)
	}
	return v
}

// envelope is the parsed sig-* headers of one record.
type envelope struct {
	kid, ts, pid, seq string
	tsMillis          int64
	seqNum            uint64
	sig               []byte
}

// Verify checks r's envelope: headers, key, signature, then time skew,
// and last the replay window, which only authentic records may move.
func (v *Verifier) Verify(r *kgo.Record) error {
	env, err := v.check(r)
	if err != nil {
		return err
	}
	if !v.replay.accept(env.pid, env.seqNum) {
		return replayErr(env)
	}
	return nil
}

func replayErr(env envelope) error {
	return fmt.Errorf("%w: pid %s seq %d", ErrReplay, env.pid, env.seqNum)
}

// check is Verify without the replay window.
func (v *Verifier) check(r *kgo.Record) (envelope, error) {
	if r == nil {
		return envelope{}, fmt.Errorf("%w: nil record", ErrMalformed)
	}
	env, err := parseEnvelope(r)
	if err != nil {
		return env, err
	}
	key, ok := v.keys.keys[env.kid]
	switch {
	case !ok:
		return env, fmt.Errorf("%w: kid %s", ErrUnknownKey, quote(env.kid))
	case key.status == StatusRevoked:
		return env, fmt.Errorf("%w: kid %s", ErrRevokedKey, quote(env.kid))
	}
	msg, err := signedBytes(r.Topic, r.Key, r.Value, env.ts, env.pid, env.seq, env.kid)
	if err != nil {
		return env, err
	}
	if !key.verify(msg, env.sig) {
		return env, fmt.Errorf("%w: kid %s", ErrBadSignature, quote(env.kid))
	}
	if v.logAppendTime && r.Attrs.TimestampType() != 1 {
		return env, ErrTimestampType
	}
	skew := time.Duration(env.tsMillis-r.Timestamp.UnixMilli()) * time.Millisecond
	if skew > v.maxSkew || skew < -v.maxSkew {
		return env, fmt.Errorf("%w: %v", ErrSkew, skew)
	}
	return env, nil
}

func (k verifyKey) verify(msg, sig []byte) bool {
	switch k.alg {
	case AlgEdDSA:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.pub, msg, sig)
	case AlgHS256:
		return hmac.Equal(hmacSHA256(k.secret, msg), sig)
	}
	return false
}

// parseEnvelope finds exactly one of each sig-* header and checks their
// syntax. Any missing header is ErrUnsigned; a duplicate or a bad value is
// ErrMalformed.
func parseEnvelope(r *kgo.Record) (envelope, error) {
	var vals [len(sigHeaders)][]byte
	var seen [len(sigHeaders)]bool
	for _, h := range r.Headers {
		for i, name := range sigHeaders {
			if h.Key != name {
				continue
			}
			if seen[i] {
				return envelope{}, fmt.Errorf("%w: duplicate %s header", ErrMalformed, name)
			}
			seen[i], vals[i] = true, h.Value
		}
	}
	for i, name := range sigHeaders {
		if !seen[i] {
			return envelope{}, fmt.Errorf("%w: no %s header", ErrUnsigned, name)
		}
	}
	if string(vals[0]) != envelopeVersion {
		return envelope{}, fmt.Errorf("%w: sig-v %s", ErrMalformed, quote(string(vals[0])))
	}
	env := envelope{kid: string(vals[1]), ts: string(vals[2]), pid: string(vals[3]), seq: string(vals[4])}
	return env, env.check(vals[5])
}

func (env *envelope) check(sig []byte) error {
	var err error
	if checkKid(env.kid) != nil {
		return fmt.Errorf("%w: sig-kid must be 1..%d bytes", ErrMalformed, maxKidLen)
	}
	if env.tsMillis, err = parseCanonicalInt(env.ts); err != nil {
		return fmt.Errorf("%w: sig-ts %s", ErrMalformed, quote(env.ts))
	}
	if !isLowerHex(env.pid, 32) {
		return fmt.Errorf("%w: sig-pid %s is not 32 hex digits", ErrMalformed, quote(env.pid))
	}
	seq, err := parseCanonicalInt(env.seq)
	if err != nil || seq < 1 {
		return fmt.Errorf("%w: sig-seq %s", ErrMalformed, quote(env.seq))
	}
	env.seqNum = uint64(seq)
	if len(sig) > maxSigLen {
		return fmt.Errorf("%w: sig longer than %d bytes", ErrMalformed, maxSigLen)
	}
	if env.sig, err = b64.DecodeString(string(sig)); err != nil {
		return fmt.Errorf("%w: sig is not base64url", ErrMalformed)
	}
	return nil
}

// parseCanonicalInt accepts the decimal form strconv.FormatInt prints for a
// non-negative number, so every signed value has one spelling.
func parseCanonicalInt(s string) (int64, error) {
	if s == "" || len(s) > 19 || !allDigits(s) || len(s) > 1 && s[0] == '0' {
		return 0, errors.New("not a canonical decimal")
	}
	return strconv.ParseInt(s, 10, 64)
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
