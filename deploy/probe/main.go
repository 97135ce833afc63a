// Command probe is the container health check of the Reelguard images: the
// distroless images have no shell or curl, so compose (and Kubernetes, for
// the recommender behind mTLS) runs `probe URL` and reads its exit status:
// 0 when URL answers 200.
//
//	probe [-cacert FILE | -mtls DIR] [-timeout 2s] URL
//
// With -mtls it speaks to the recommender as the gateway does: with a
// short-lived client certificate from the internal CA in DIR
// (keys/internal-ca of a data folder).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/reelguard/reelguard/certs"
)

var errNotOK = errors.New("not 200")

func main() {
	if err := probe(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

func probe(args []string) error {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	caFile := fs.String("cacert", "", "PEM file of the CA to trust for https (default: the system's)")
	mtlsDir := fs.String("mtls", "", "internal CA folder: present a client certificate from it and trust only it")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: probe [-cacert FILE] [-timeout 2s] URL")
	}
	client, err := newClient(*caFile, *mtlsDir, *timeout)
	if err != nil {
		return err
	}
	resp, err := client.Get(fs.Arg(0))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %w: %s", fs.Arg(0), errNotOK, resp.Status)
	}
	return nil
}

func newClient(caFile, mtlsDir string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	switch {
	case caFile != "" && mtlsDir != "":
		return nil, errors.New("-cacert and -mtls exclude each other")
	case mtlsDir != "":
		cfg, err := certs.MTLSClientConfig(certs.MTLSConfig{CADir: mtlsDir, ClientName: "reelguard-probe"})
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = cfg
	case caFile != "":
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read ca: no certificate in %s", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Timeout: timeout, Transport: tr}, nil
}
