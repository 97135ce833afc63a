// Package certs holds Reelguard's TLS material and policy: a local dev CA, the
// server certificate it issues (served with or without SNI), the CA pool
// clients trust, and the TLS policy every listener starts from.
//
// Only the standard library is used; ACME via certmagic comes later. The
// package imports nothing else of Reelguard.
package certs
