// Package gateway is Reelguard's HTTPS front door: it terminates TLS, guards
// connections, limits requests per IP before authentication, verifies the
// caller's JWT, asks the policy engine for a decision, applies the
// principal's rate limit, proxies to the retrieval service and logs each
// answered recommendation request to Kafka, off the request path.
//
// The package composes the libraries (auth, policy, events, certs) through
// small interfaces defined here, so tests and later issues can swap any part.
package gateway
