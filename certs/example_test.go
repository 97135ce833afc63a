package certs_test

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reelguard/reelguard/certs"
)

// Both ends of the gateway-to-recommender hop take their leaves from the
// internal CA that `gateway keys` makes; the server lets in only clients
// certified by it.
func ExampleMTLSServerConfig() {
	dir, _ := os.MkdirTemp("", "internal-ca")
	defer os.RemoveAll(dir)
	caDir := filepath.Join(dir, "internal-ca")
	if _, err := certs.EnsureInternalCA(caDir); err != nil {
		fmt.Println(err)
		return
	}
	server, _ := certs.MTLSServerConfig(certs.MTLSConfig{CADir: caDir})
	client, _ := certs.MTLSClientConfig(certs.MTLSConfig{CADir: caDir, ClientName: "gateway"})

	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	seen := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		s := conn.(*tls.Conn)
		if err := s.Handshake(); err != nil {
			seen <- "refused: " + err.Error()
			return
		}
		seen <- s.ConnectionState().PeerCertificates[0].Subject.CommonName
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fmt.Println("server saw client", <-seen, "and presented", c.ConnectionState().PeerCertificates[0].DNSNames[0])
	// Output: server saw client gateway and presented recommender.reelguard.internal
}
