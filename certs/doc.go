// Package certs holds Reelguard's TLS material and policy: the TLS policy
// every listener starts from; server certificates from an ACME CA through
// certmagic (ACME), or, when no ACME is configured, from a local dev CA
// (served with or without SNI) whose pool clients trust; and the internal
// CA whose short-lived, self-rotating leaves authenticate both ends of the
// mTLS between the gateway and the retrieval service.
//
// The package imports nothing else of Reelguard.
package certs
