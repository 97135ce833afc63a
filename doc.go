// Package reelguard is the root of Reelguard, a security-hardened API
// gateway in front of a movie-recommendation retrieval service. The code
// lives in the parts DESIGN.md names (auth, policy, anomaly, certs, events,
// recommender, gateway) and the binaries in cmd/; this package holds only
// the test that keeps the import arrows between the parts true.
package reelguard
