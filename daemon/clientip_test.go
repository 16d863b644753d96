package daemon

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestForwardedClient(t *testing.T) {
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8:ffff::/48"),
	}
	tests := []struct {
		name    string
		headers [][2]string
		want    string // "" for none
	}{
		{"none", nil, ""},
		{"one hop", [][2]string{{"X-Forwarded-For", "203.0.113.7"}}, "203.0.113.7"},
		{"rightmost untrusted", [][2]string{
			{"X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.1.1.1, 10.2.2.2"}},
			"203.0.113.7"},
		{"forged left part ignored", [][2]string{
			{"X-Forwarded-For", "1.2.3.4,203.0.113.7"}}, "203.0.113.7"},
		{"all trusted", [][2]string{{"X-Forwarded-For", "10.9.9.9, 10.1.1.1"}}, "10.9.9.9"},
		{"several header lines", [][2]string{
			{"X-Forwarded-For", "203.0.113.7"}, {"X-Forwarded-For", "10.1.1.1"}},
			"203.0.113.7"},
		{"with port", [][2]string{{"X-Forwarded-For", "203.0.113.7:4711"}}, "203.0.113.7"},
		{"IPv6 with port", [][2]string{{"X-Forwarded-For", "[2001:db8::7]:4711"}},
			"2001:db8::7"},
		{"IPv4-mapped", [][2]string{{"X-Forwarded-For", "::ffff:203.0.113.7"}}, "203.0.113.7"},
		{"trusted IPv6 proxy", [][2]string{
			{"X-Forwarded-For", "2001:db8::7, 2001:db8:ffff::1"}}, "2001:db8::7"},
		{"garbage stops at the last trusted hop", [][2]string{
			{"X-Forwarded-For", "203.0.113.7, unknown, 10.1.1.1"}}, "10.1.1.1"},
		{"garbage only", [][2]string{{"X-Forwarded-For", "unknown"}}, ""},
		{"empty entries", [][2]string{{"X-Forwarded-For", " , 203.0.113.7 ,"}}, "203.0.113.7"},
		{"X-Real-IP", [][2]string{{"X-Real-IP", "203.0.113.9"}}, "203.0.113.9"},
		{"X-Forwarded-For before X-Real-IP", [][2]string{
			{"X-Real-IP", "203.0.113.9"}, {"X-Forwarded-For", "203.0.113.7"}}, "203.0.113.7"},
		{"invalid X-Real-IP", [][2]string{{"X-Real-IP", "nobody"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h fasthttp.RequestHeader
			for _, kv := range tt.headers {
				h.Add(kv[0], kv[1])
			}
			got := forwardedClient(&h, trusted)
			switch {
			case tt.want == "" && got.IsValid():
				t.Errorf("client %v, want none", got)
			case tt.want != "" && got != netip.MustParseAddr(tt.want):
				t.Errorf("client %v, want %s", got, tt.want)
			}
		})
	}
}

func TestResolveClient(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	proxy := netip.MustParseAddr("10.0.0.1")
	outsider := netip.MustParseAddr("198.51.100.1")
	client := netip.MustParseAddr("203.0.113.7")

	if got := resolveClient(proxy, client, trusted); got != client {
		t.Errorf("trusted peer: %v, want the forwarded %v", got, client)
	}
	if got := resolveClient(outsider, client, trusted); got != outsider {
		t.Errorf("untrusted peer: %v, want the peer %v", got, outsider)
	}
	if got := resolveClient(proxy, netip.Addr{}, trusted); got != proxy {
		t.Errorf("trusted peer without headers: %v, want the peer %v", got, proxy)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,::1, 172.16.5.5/12")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.7/32"),
		netip.MustParsePrefix("fd00::/8"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("172.16.0.0/12"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("ParsePrefixes = %v, want %v", got, want)
	}
	if got, err := ParsePrefixes(""); err != nil || len(got) != 0 {
		t.Errorf("ParsePrefixes(\"\") = %v, %v; want an empty list", got, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1/x"} {
		if _, err := ParsePrefixes(bad); err == nil {
			t.Errorf("ParsePrefixes(%q) succeeded, want an error", bad)
		}
	}
}
