package main

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/reelguard/reelguard/certs"
)

// recommenderTLSEnv turns on mTLS for `recommender serve`: "true" (or 1)
// makes the listener require a client certificate from the internal CA
// that `gateway keys` makes in <keys>/internal-ca; the gateway, given the
// same variable, reaches it at https://REELGUARD_RECOMMENDER_LISTEN. Unset
// or false keeps plain HTTP (for tests and tools that need it).
const recommenderTLSEnv = "REELGUARD_RECOMMENDER_TLS"

// listenService opens the serving listener: plain TCP, or mTLS when
// REELGUARD_RECOMMENDER_TLS says so.
func listenService(addr, keys string, logger *slog.Logger) (net.Listener, error) {
	cfg, err := serviceTLS(os.Getenv(recommenderTLSEnv), keysDir(keys))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if cfg == nil {
		return ln, nil
	}
	logger.Info("mTLS: clients need a certificate from the internal CA", "ca", filepath.Join(keysDir(keys), "internal-ca"))
	return tls.NewListener(ln, cfg), nil
}

// serviceTLS is the mTLS server configuration for env's value, or nil
// when mTLS is off. Its leaf lives in memory and renews itself.
func serviceTLS(env, keys string) (*tls.Config, error) {
	if env == "" {
		return nil, nil
	}
	on, err := strconv.ParseBool(env)
	if err != nil {
		return nil, fmt.Errorf("%w: %s=%q is not a boolean", errUsage, recommenderTLSEnv, env)
	}
	if !on {
		return nil, nil
	}
	cfg, err := certs.MTLSServerConfig(certs.MTLSConfig{CADir: filepath.Join(keys, "internal-ca")})
	if err != nil {
		return nil, fmt.Errorf("serve: %w (run `gateway keys` to make the internal CA)", err)
	}
	return cfg, nil
}
