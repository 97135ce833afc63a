package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"math/big"
)

// verifyKey is one public key (or the configured HMAC secret) and the one
// algorithm its tokens may use.
type verifyKey struct {
	alg string
	pub any // ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey or Secret
}

// pssOptions demand a salt as long as the hash, as RFC 7518 §3.5 says for
// PS256. golang-jwt's SigningMethodPS256 verifies with PSSSaltLengthAuto,
// which accepts any salt length; we do not use it.
var pssOptions = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}

// verify reports whether sig is a valid signature of input under k's own
// algorithm. The token's alg header has already been compared with k.alg.
func (k verifyKey) verify(input string, sig []byte) bool {
	switch pub := k.pub.(type) {
	case ed25519.PublicKey:
		return k.alg == algEdDSA && ed25519.Verify(pub, []byte(input), sig)
	case *ecdsa.PublicKey:
		return k.alg == algES256 && verifyES256(pub, input, sig)
	case *rsa.PublicKey:
		h := sha256.Sum256([]byte(input))
		switch k.alg {
		case algRS256:
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
		case algPS256:
			return rsa.VerifyPSS(pub, crypto.SHA256, h[:], sig, pssOptions) == nil
		}
	case Secret:
		mac := hmac.New(sha256.New, pub)
		mac.Write([]byte(input))
		return k.alg == algHS256 && hmac.Equal(mac.Sum(nil), sig)
	}
	return false
}

// verifyES256 checks a JWS ECDSA signature: R and S as two 32-byte big-endian
// integers (RFC 7518 §3.4), nothing else: no DER, no shorter or longer forms.
// ecdsa.Verify refuses R or S outside [1, n-1]. A high S (n-s for a valid s)
// verifies, as ECDSA defines and as JWS does not forbid: a malleated token
// carries the same claims and the same jti, so revocation still covers it.
func verifyES256(pub *ecdsa.PublicKey, input string, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	h := sha256.Sum256([]byte(input))
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub, h[:], r, s)
}
