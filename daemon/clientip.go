package daemon

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"github.com/valyala/fasthttp"
)

// ParsePrefixes parses a comma-separated list of CIDR prefixes such as
// "10.0.0.0/8, fd00::/8". A bare address is a prefix of its full length.
// An empty string is an empty list.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			addr, err := netip.ParseAddr(item)
			if err != nil {
				return nil, fmt.Errorf("invalid address %q: want an IP address or a CIDR prefix",
					item)
			}
			addr = addr.Unmap().WithZone("")
			prefixes = append(prefixes, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("invalid CIDR prefix %q: %w", item, err)
		}
		prefixes = append(prefixes, p.Masked())
	}
	return prefixes, nil
}

// maxForwardedHops bounds the X-Forwarded-For entries read per request.
const maxForwardedHops = 64

// peerAddr returns the TCP peer of a request, without an IPv4-in-IPv6
// mapping, or the zero Addr when it has none (a test context).
func peerAddr(ctx *fasthttp.RequestCtx) netip.Addr {
	addr, ok := netip.AddrFromSlice(ctx.RemoteIP())
	if !ok {
		return netip.Addr{}
	}
	return addr.Unmap()
}

// trustedPeer reports whether addr lies in one of the trusted prefixes.
func trustedPeer(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// resolveClient returns the address a request is attributed to: the peer,
// unless the peer is a trusted proxy and forwarded (what its forwarding
// headers name) is valid.
func resolveClient(peer, forwarded netip.Addr, trusted []netip.Prefix) netip.Addr {
	if forwarded.IsValid() && trustedPeer(peer, trusted) {
		return forwarded
	}
	return peer
}

// forwardedClient returns the client that the forwarding headers of h
// name, to be believed only when the peer is a trusted proxy. In
// X-Forwarded-For each proxy appends the address it received the request
// from, so the entries are read from the right. The first one outside the
// trusted networks is the client, because anything to its left was
// written by the client itself and can be forged. When every entry is trusted, the
// leftmost is the client. Reading stops at an entry that is not an
// address, and the last trusted entry read is the client. Without
// X-Forwarded-For, X-Real-IP names the client. The result is the zero Addr
// when neither header names one.
func forwardedClient(h *fasthttp.RequestHeader, trusted []netip.Prefix) netip.Addr {
	var client netip.Addr
	hops := 0
	values := h.PeekAll("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		list := values[i]
		for len(list) > 0 {
			var hop []byte
			if j := bytes.LastIndexByte(list, ','); j >= 0 {
				hop, list = list[j+1:], list[:j]
			} else {
				hop, list = list, nil
			}
			hop = bytes.TrimSpace(hop)
			if len(hop) == 0 {
				continue
			}
			addr, ok := parseHop(hop)
			if !ok {
				return client
			}
			if !trustedPeer(addr, trusted) {
				return addr
			}
			client = addr
			if hops++; hops == maxForwardedHops {
				return client
			}
		}
	}
	if hops > 0 {
		return client
	}
	if real := bytes.TrimSpace(h.Peek("X-Real-IP")); len(real) > 0 {
		if addr, ok := parseHop(real); ok {
			return addr
		}
	}
	return netip.Addr{}
}

// parseHop parses one forwarded address: an IP, or an IP and port as
// "1.2.3.4:80" or "[2001:db8::1]:80".
func parseHop(hop []byte) (netip.Addr, bool) {
	s := string(hop)
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		addr = ap.Addr()
	}
	return addr.Unmap().WithZone(""), true
}
