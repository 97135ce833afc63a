package certs

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// normalizeHosts trims, lowercases and de-duplicates host names and IP
// addresses ("[::1]" and "::1" alike), keeping order. nil or empty means
// defaultHosts. Anything that is neither an IP nor a DNS name is an error.
func normalizeHosts(hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		hosts = defaultHosts
	}
	out := make([]string, 0, len(hosts))
	seen := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		n, err := normalizeHost(h)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

func normalizeHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
		if ip.Zone() != "" {
			return "", fmt.Errorf("host %q: a certificate cannot name a zone", h)
		}
		return ip.Unmap().String(), nil
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if !validDNSName(h) {
		return "", fmt.Errorf("host %q is neither an IP address nor a DNS name", h)
	}
	return h, nil
}

// validDNSName accepts LDH labels, with an optional leading "*." wildcard.
func validDNSName(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// splitHosts separates normalized hosts into DNS names and IP addresses.
func splitHosts(hosts []string) (dns []string, ips []net.IP) {
	for _, h := range hosts {
		if ip, err := netip.ParseAddr(h); err == nil {
			ips = append(ips, net.IP(ip.AsSlice()))
		} else {
			dns = append(dns, h)
		}
	}
	return dns, ips
}
