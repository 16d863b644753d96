package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRequestTimeoutHeader(t *testing.T) {
	ts := startServer(t, Config{Timeout: 20 * time.Second}, &pngRemover{})
	slow := append([]byte(nil), triggerSlow...)

	for _, value := range []string{"abc", "0", "-5", "1.5", "", " ", "12345678901", "1e3"} {
		t.Run("invalid "+value, func(t *testing.T) {
			checkErrorCase(t, ts, errorCase{method: "POST", path: "/v1/remove", ct: "image/png",
				body: slow, status: 400, code: "invalid_parameter", offset: -1,
				header: map[string]string{"X-Request-Timeout-Ms": value}})
		})
	}

	t.Run("shortens the deadline", func(t *testing.T) {
		start := time.Now()
		resp, body := send(t, "POST", ts.url+"/v1/remove", "image/png", slow,
			map[string]string{"X-Request-Timeout-Ms": "100"})
		elapsed := time.Since(start)
		if resp.StatusCode != http.StatusGatewayTimeout {
			t.Fatalf("status %d, want 504 (%s)", resp.StatusCode, body)
		}
		if e := decodeAPIError(t, resp, body); e.Error.Code != "timeout" {
			t.Errorf("code %q, want timeout", e.Error.Code)
		}
		// The server's own deadline is 20 s; half of it is a bound no
		// scheduler delay reaches.
		if elapsed > 10*time.Second {
			t.Errorf("the 100 ms deadline took %v", elapsed)
		}
	})

	t.Run("cannot extend the deadline", func(t *testing.T) {
		ts := startServer(t, Config{Timeout: 100 * time.Millisecond}, &pngRemover{})
		resp, body := send(t, "POST", ts.url+"/v1/remove", "image/png", slow,
			map[string]string{"X-Request-Timeout-Ms": "9999999999"})
		if resp.StatusCode != http.StatusGatewayTimeout {
			t.Fatalf("status %d, want 504 (%s)", resp.StatusCode, body)
		}
	})
}

func TestStalledBodyTimesOut(t *testing.T) {
	ts := startServer(t, Config{BodyTimeout: 200 * time.Millisecond}, &pngRemover{})

	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "POST /v1/remove HTTP/1.1\r\nHost: test\r\nContent-Type: image/png\r\n"+
		"Content-Length: 1000\r\n\r\nonly a part")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408 (%s)", resp.StatusCode, body)
	}
	if e := decodeAPIError(t, resp, body); e.Error.Code != "request_timeout" {
		t.Errorf("code %q, want request_timeout", e.Error.Code)
	}

	// The access log names the request fasthttp could not finish reading.
	var line map[string]any
	waitFor(t, "the access log line", func() bool {
		for _, l := range strings.Split(strings.TrimSpace(ts.logs.String()), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "request" {
				line = rec
				return true
			}
		}
		return false
	})
	if line["method"] != "POST" || line["route"] != "/v1/remove" || line["status"] != 408.0 {
		t.Errorf("access log: method %v route %v status %v, want POST /v1/remove 408",
			line["method"], line["route"], line["status"])
	}
}

func TestStalledHeaderTimesOut(t *testing.T) {
	ts := startServer(t, Config{HeaderTimeout: 200 * time.Millisecond}, &pngRemover{})

	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "POST /v1/remove HTTP/1.1\r\nHost: te")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
}

func TestStalledBodyLogsForwardedClient(t *testing.T) {
	ts := startServer(t, Config{BodyTimeout: 200 * time.Millisecond,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, &pngRemover{})

	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "POST /v1/remove HTTP/1.1\r\nHost: test\r\nContent-Type: image/png\r\n"+
		"X-Forwarded-For: 203.0.113.9\r\nContent-Length: 1000\r\n\r\npart")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("status %d, want 408", resp.StatusCode)
	}
	waitFor(t, "the access log line", func() bool { return len(loggedClients(t, ts)) == 1 })
	if ips := loggedClients(t, ts); ips[0] != "203.0.113.9" {
		t.Errorf("client_ip %s, want the forwarded 203.0.113.9", ips[0])
	}
}
