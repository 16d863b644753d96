package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sendHeader opens a connection and sends a removal request's header that
// declares a body of n bytes, without the body.
func sendHeader(t *testing.T, addr string, n int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /v1/remove HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"+
		"Content-Length: %d\r\n\r\n", n)
	return conn
}

func TestBodyMemoryBudget(t *testing.T) {
	const body = 1 << 20
	ts := startServer(t, Config{MaxBody: body, MaxBodyMemory: 2 * body}, &pngRemover{})

	// Two headers declaring 1 MiB each take the whole budget before any
	// body byte arrives.
	first := sendHeader(t, ts.addr, body)
	second := sendHeader(t, ts.addr, body)
	waitFor(t, "two bodies reserved", func() bool { return ts.bodyMemory.Load() == 2*body })

	third := sendHeader(t, ts.addr, body)
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil {
		t.Fatalf("third request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third request: status %d, want 503", resp.StatusCode)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("the 503 has no Retry-After")
	}
	if got := ts.bodyMemory.Load(); got != 2*body {
		t.Errorf("after the rejection %d bytes are reserved, want %d", got, 2*body)
	}

	// A small request still fits next to one reservation once the first
	// body has been sent and served, and an abandoned one is given back.
	first.Write(make([]byte, body))
	first.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err = http.ReadResponse(bufio.NewReader(first), nil)
	if err != nil {
		t.Fatalf("first request: %v", err)
	}
	resp.Body.Close()
	second.Close()
	waitFor(t, "every reservation given back", func() bool { return ts.bodyMemory.Load() == 0 })

	png := testPNG(t, 8, 6)
	resp2, respBody := send(t, "POST", ts.url+"/v1/remove", "image/png", png, nil)
	if resp2.StatusCode != http.StatusOK {
		t.Fatalf("request after the budget freed up: status %d (%s)", resp2.StatusCode,
			respBody)
	}
	if !strings.Contains(ts.logs.String(), `"status":503`) {
		t.Error("the access log has no line for the 503")
	}
}

func TestExpectContinue(t *testing.T) {
	const body = 1 << 20
	ts := startServer(t, Config{MaxBody: body}, &pngRemover{})
	png := testPNG(t, 8, 6)

	expect := func(n int) (net.Conn, *bufio.Reader, *http.Response) {
		t.Helper()
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "POST /v1/remove HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"+
			"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n", n)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("response to the header: %v", err)
		}
		return conn, r, resp
	}

	t.Run("over the limit", func(t *testing.T) {
		_, _, resp := expect(body + 1)
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d before the body, want 413 and no 100 Continue",
				resp.StatusCode)
		}
		var e apiErrorBody
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("error body: %v", err)
		}
		if e.Error.Code != "payload_too_large" {
			t.Errorf("code %q, want payload_too_large", e.Error.Code)
		}
	})

	t.Run("within the limit", func(t *testing.T) {
		conn, r, resp := expect(len(png))
		resp.Body.Close()
		if resp.StatusCode != http.StatusContinue {
			t.Fatalf("status %d before the body, want 100", resp.StatusCode)
		}
		conn.Write(png)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("response to the body: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d, want 200", resp.StatusCode)
		}
	})
	waitFor(t, "every reservation given back", func() bool { return ts.bodyMemory.Load() == 0 })
}

// TestExpectOverloaded checks that a removal sent with Expect:
// 100-continue while the queue is full gets 503 with the queue's
// Retry-After instead of 100 Continue. Its body is never reserved or
// passed to the remover. A removal without Expect has
// its body read and gets the same 503 from the remover.
func TestExpectOverloaded(t *testing.T) {
	const body = 1 << 20
	r := &pngRemover{}
	r.full.Store(true)
	ts := startServer(t, Config{MaxBody: body}, r)

	check := func(name string, resp *http.Response, body []byte) {
		t.Helper()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s: status %d (%s), want 503", name, resp.StatusCode, body)
		}
		if got := resp.Header.Get("Retry-After"); got != "3" {
			t.Errorf("%s: Retry-After %q, want 3 (the queue's 2.5 s, rounded up)", name, got)
		}
		var e apiErrorBody
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatalf("%s: error body %q: %v", name, body, err)
		}
		if e.Error.Code != "overloaded" {
			t.Errorf("%s: code %q, want overloaded", name, e.Error.Code)
		}
	}

	head := fmt.Sprintf("POST /v1/remove HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"+
		"Content-Length: %d\r\n\r\n", body)
	resp, respBody, continued := exchange(t, dial(t, ts.addr), head, make([]byte, body), true)
	if continued {
		t.Fatal("Expect: 100-continue: 100 Continue with a full queue")
	}
	check("Expect: 100-continue", resp, respBody)
	if n := r.started.Load(); n != 0 {
		t.Errorf("the remover got %d jobs before any body was sent, want none", n)
	}
	if got := ts.bodyMemory.Load(); got != 0 {
		t.Errorf("%d bytes of body memory reserved, want 0", got)
	}

	// An absolute-form target names the same route.
	resp, respBody, continued = exchange(t, dial(t, ts.addr),
		"POST http://x/v1/%72emove HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"+
			"Content-Length: 100\r\n\r\n", make([]byte, 100), true)
	if continued {
		t.Error("absolute-form target: 100 Continue with a full queue")
	}
	check("absolute-form target", resp, respBody)
	if n := r.started.Load(); n != 0 {
		t.Errorf("the remover got %d jobs before any body was sent, want none", n)
	}

	resp, respBody = send(t, "POST", ts.url+"/v1/remove", "image/png", testPNG(t, 8, 6), nil)
	check("without Expect", resp, respBody)
	if n := r.started.Load(); n != 1 {
		t.Errorf("the remover got %d jobs, want the one sent without Expect", n)
	}
	if got := strings.Count(ts.logs.String(), `"status":503`); got != 3 {
		t.Errorf("the access log has %d lines for a 503, want 3", got)
	}

	// Once the queue has room, removals are read and served again.
	r.full.Store(false)
	resp, respBody = send(t, "POST", ts.url+"/v1/remove", "image/png", testPNG(t, 8, 6), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("request once the queue has room: status %d (%s)", resp.StatusCode, respBody)
	}
}
