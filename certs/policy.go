package certs

import "crypto/tls"

// TLSPolicy returns a fresh base server configuration: TLS 1.2 or newer and,
// for TLS 1.2, only ECDHE key exchange with AEAD ciphers (AES-GCM,
// ChaCha20-Poly1305). TLS 1.3 suites are all AEAD and not configurable.
// Key exchange prefers the X25519+ML-KEM-768 hybrid (post-quantum, TLS 1.3
// only; Go's default) before X25519, P-256 and P-384 (Mozilla's
// intermediate profile).
func TLSPolicy() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences: []tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256, tls.CurveP384},
	}
}
