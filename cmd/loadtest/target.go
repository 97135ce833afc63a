package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// errNotLoopback refuses targets and sources off this machine.
var errNotLoopback = errors.New("not a loopback address (want 127.0.0.0/8, ::1 or localhost)")

// checkTarget accepts only an https URL whose host is loopback. Host names
// other than localhost are refused without being resolved.
func checkTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", raw, err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("target %q: want an https URL", raw)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("target %q: no host", raw)
	}
	if strings.EqualFold(host, "localhost") {
		return u, nil
	}
	if _, err := loopbackIP(host); err != nil {
		return nil, fmt.Errorf("target %q: %w", raw, err)
	}
	return u, nil
}

// loopbackIP parses s and accepts it only when it is a loopback address.
func loopbackIP(s string) (net.IP, error) {
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("%q: %w", s, errNotLoopback)
	}
	if !ip.IsLoopback() {
		return nil, fmt.Errorf("%s: %w", ip, errNotLoopback)
	}
	return ip, nil
}

// parseSources reads "a,b,c" or an IPv4 range "a-b" (same /24) of loopback
// source addresses.
func parseSources(spec string) ([]net.IP, error) {
	var out []net.IP
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			ip, err := loopbackIP(part)
			if err != nil {
				return nil, err
			}
			out = append(out, ip)
			continue
		}
		ips, err := ipRange(lo, hi)
		if err != nil {
			return nil, err
		}
		out = append(out, ips...)
	}
	if len(out) == 0 {
		return nil, errors.New("no source address")
	}
	return out, nil
}

func ipRange(lo, hi string) ([]net.IP, error) {
	a, err := loopbackIP(lo)
	if err != nil {
		return nil, err
	}
	b, err := loopbackIP(hi)
	if err != nil {
		return nil, err
	}
	a4, b4 := a.To4(), b.To4()
	if a4 == nil || b4 == nil || !a4[:3].Equal(b4[:3]) || a4[3] > b4[3] {
		return nil, fmt.Errorf("range %s-%s: want two IPv4 addresses of one /24, low first", lo, hi)
	}
	var out []net.IP
	for i := int(a4[3]); i <= int(b4[3]); i++ {
		out = append(out, net.IPv4(a4[0], a4[1], a4[2], byte(i)))
	}
	return out, nil
}
