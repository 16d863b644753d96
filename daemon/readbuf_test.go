package daemon

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// wipeServer is a listening fasthttp server. closed receives, for each
// connection fasthttp has finished with, a copy of its read buffer taken
// right after the wipe.
type wipeServer struct {
	addr   string
	closed chan []byte
}

// noReadBuffer replaces, on wipeServer.closed, the buffer of a closed
// connection whose read buffer was never found, so nothing was wiped.
var noReadBuffer = []byte("no read buffer")

// takenOver replaces, on wipeServer.closed, the buffer of a closed
// connection that another connection had taken over before it was checked.
var takenOver = []byte("taken over")

// startWipeServer starts a fasthttp server on a serverListener with the
// settings New gives it for reading requests, and the handler
// wipeServer.handle.
func startWipeServer(t *testing.T) *wipeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ws := &wipeServer{addr: ln.Addr().String()}
	srv := &fasthttp.Server{
		Handler:                      ws.handle,
		ReadBufferSize:               readBufferSize,
		DisablePreParseMultipartForm: true,
		Logger:                       fasthttpLogger{slog.New(slog.DiscardHandler)},
		ConnState:                    connState,
	}
	ws.closed = watchClosed(srv)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(newServerListener(ln)) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-done
	})
	return ws
}

// startWipeDaemon starts a Server with r, whose closed connections' read
// buffers can be checked like a wipeServer's.
func startWipeDaemon(t *testing.T, cfg Config, r Remover) *wipeServer {
	t.Helper()
	ws := &wipeServer{}
	ts := startServer(t, cfg, r, func(s *Server) { ws.closed = watchClosed(s.http) })
	ws.addr = ts.addr
	return ws
}

// watchClosed wraps srv's ConnState hook, before srv serves, so that the
// returned channel receives a copy of each closed connection's read buffer
// taken right after the hook has wiped it.
func watchClosed(srv *fasthttp.Server) chan []byte {
	closed := make(chan []byte, 16)
	hook := srv.ConnState
	srv.ConnState = func(c net.Conn, state fasthttp.ConnState) {
		var buf []byte
		if sc, ok := c.(*serverConn); ok && state == fasthttp.StateClosed {
			buf = sc.readBuf
		}
		if hook != nil {
			hook(c, state)
		}
		if state != fasthttp.StateClosed {
			return
		}
		if buf == nil {
			closed <- noReadBuffer
			return
		}
		// The next connection of a test may have taken the reader from the
		// pool already. Then its first Read zeroes the buffer (see
		// TestReadBufferHandover), and the buffer holds its data now.
		// Otherwise the lock keeps it from writing while buf is copied.
		readBufferOwners.Lock()
		defer readBufferOwners.Unlock()
		if _, taken := readBufferOwners.m[sliceEnd(buf)]; taken {
			closed <- takenOver
			return
		}
		closed <- bytes.Clone(buf)
	}
	return closed
}

// handle echoes the request body. Its X-Stale response header reports
// whether the connection's read buffer still holds "Bearer " and the
// secret named by the request's X-Previous header: the Authorization
// header of an earlier request. X-Stale-Response reports whether the write
// buffer still holds the secret, which that request's body, and so its
// echo, should contain. The handler runs on the goroutine that reads and
// writes the connection, so it may look at the buffers.
func (ws *wipeServer) handle(ctx *fasthttp.RequestCtx) {
	if prev := ctx.Request.Header.Peek("X-Previous"); len(prev) > 0 {
		sc, _ := ctx.Conn().(*serverConn)
		ctx.Response.Header.Set("X-Stale",
			staleIn(sc.readBuf, append([]byte("Bearer "), prev...)))
		ctx.Response.Header.Set("X-Stale-Response", staleIn(sc.writeBuf, prev))
	}
	ctx.SetBody(ctx.Request.Body())
}

// staleIn returns "yes" when buf contains secret, "no" when it does not and
// "unknown" when buf was not found.
func staleIn(buf, secret []byte) string {
	switch {
	case buf == nil:
		return "unknown"
	case bytes.Contains(buf, secret):
		return "yes"
	}
	return "no"
}

// waitClosed waits for the next connection fasthttp closes and fails when
// its read buffer was not found or is not zero.
func (ws *wipeServer) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case buf := <-ws.closed:
		if bytes.Equal(buf, noReadBuffer) {
			t.Fatal("the connection's read buffer was not found")
		}
		if bytes.Equal(buf, takenOver) {
			t.Log("the next connection took the read buffer over before the check")
			return
		}
		if i := bytes.IndexFunc(buf, func(r rune) bool { return r != 0 }); i >= 0 {
			t.Errorf("the read buffer is not zero after the connection closed: %q",
				buf[i:min(i+64, len(buf))])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not close the connection")
	}
}

// secretRequest returns a POST with a secret header and body.
// The extra header lines come before the secret.
func secretRequest(secret string, body []byte, extra string) string {
	return "POST /echo HTTP/1.1\r\nHost: x\r\n" + extra + "Authorization: Bearer " + secret +
		"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + string(body)
}

// readEcho reads one response from r and checks that it is 200 with body
// want, returning its header.
func readEcho(t *testing.T, r *bufio.Reader, want []byte) http.Header {
	t.Helper()
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, got)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echo of %d bytes differs from the %d bytes sent", len(got), len(want))
	}
	return resp.Header
}

func dialWipeServer(t *testing.T, ws *wipeServer) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", ws.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

// patternBody returns n bytes that differ from one request to the next.
func patternBody(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+seed)%26)
	}
	return b
}

func TestReadBufferWipe(t *testing.T) {
	ws := startWipeServer(t)

	t.Run("keep-alive", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		body := append(patternBody(1, 300), "SECRETone"...)
		padding := "X-Padding: " + strings.Repeat("p", 200) + "\r\n"
		fmt.Fprint(c, secretRequest("SECRETone", body, padding))
		readEcho(t, r, body)
		// The second request is shorter than the first one's header up to
		// its secret, which the second's bytes would overwrite otherwise.
		time.Sleep(50 * time.Millisecond) // let the server wait for it
		fmt.Fprint(c, "GET /echo HTTP/1.1\r\nHost: x\r\nX-Previous: SECRETone\r\n\r\n")
		header := readEcho(t, r, nil)
		if stale := header.Get("X-Stale"); stale != "no" {
			t.Errorf("X-Stale = %q: the read buffer held the last request while idle", stale)
		}
		if stale := header.Get("X-Stale-Response"); stale != "no" {
			t.Errorf("X-Stale-Response = %q: the write buffer held the last response", stale)
		}
		c.Close()
		ws.waitClosed(t)
	})

	t.Run("pipelined", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		var all strings.Builder
		var bodies [][]byte
		for i := range 5 {
			body := patternBody(i, 100+i*700)
			bodies = append(bodies, body)
			all.WriteString(secretRequest("SECRETpipe"+strconv.Itoa(i), body, ""))
		}
		if all.Len() <= readBufferSize {
			t.Fatalf("the pipelined requests (%d bytes) fit one read buffer", all.Len())
		}
		fmt.Fprint(c, all.String())
		for _, body := range bodies {
			readEcho(t, r, body)
		}
		c.Close()
		ws.waitClosed(t)
	})

	t.Run("large body", func(t *testing.T) {
		// Most of a body this size bypasses the buffer: bufio.Reader reads
		// straight into the body when the buffer is empty.
		c, r := dialWipeServer(t, ws)
		body := patternBody(3, 200<<10)
		fmt.Fprint(c, secretRequest("SECRETlarge", body, "Connection: close\r\n"))
		readEcho(t, r, body)
		ws.waitClosed(t)
	})

	t.Run("expect 100-continue", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		body := patternBody(4, 9000)
		req := secretRequest("SECRETexpect", nil, "Expect: 100-continue\r\n")
		req = strings.Replace(req, "Content-Length: 0", "Content-Length: 9000", 1)
		fmt.Fprint(c, req)
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
			t.Fatalf("interim response %q, %v; want 100 Continue", line, err)
		}
		if _, err := r.ReadString('\n'); err != nil { // the blank line after it
			t.Fatal(err)
		}
		c.Write(body)
		readEcho(t, r, body)
		c.Close()
		ws.waitClosed(t)
	})

	t.Run("chunked", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		body := patternBody(5, 30000)
		var req bytes.Buffer
		req.WriteString("POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRETchunk\r\n" +
			"Transfer-Encoding: chunked\r\n\r\n")
		for rest, size := body, 1; len(rest) > 0; size *= 3 {
			n := min(size, len(rest))
			fmt.Fprintf(&req, "%x\r\n%s\r\n", n, rest[:n])
			rest = rest[n:]
		}
		req.WriteString("0\r\n\r\n")
		c.Write(req.Bytes())
		readEcho(t, r, body)
		c.Close()
		ws.waitClosed(t)
	})

	t.Run("early close", func(t *testing.T) {
		c, _ := dialWipeServer(t, ws)
		req := secretRequest("SECRETearly", patternBody(6, 1000), "")
		fmt.Fprint(c, req[:len(req)-500])
		time.Sleep(50 * time.Millisecond)
		c.Close()
		ws.waitClosed(t)
	})

	t.Run("header only", func(t *testing.T) {
		c, _ := dialWipeServer(t, ws)
		fmt.Fprint(c, "GET /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRETpart")
		time.Sleep(50 * time.Millisecond)
		c.Close()
		ws.waitClosed(t)
	})
}

// TestReadBufferHandover hands one buffer from a connection to the next,
// as fasthttp's reader pool does before the first connection is closed.
func TestReadBufferHandover(t *testing.T) {
	buf := make([]byte, readBufferSize)
	read := func(c *serverConn, peer net.Conn, data string) {
		t.Helper()
		go peer.Write([]byte(data))
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != data {
			t.Fatalf("Read = %q, %v; want %q", buf[:n], err, data)
		}
	}
	aServer, aClient := net.Pipe()
	bServer, bClient := net.Pipe()
	defer aClient.Close()
	defer bClient.Close()
	a, b := newServerConn(aServer), newServerConn(bServer)

	read(a, aClient, "first connection's request")
	read(b, bClient, "second's")
	if rest := buf[len("second's"):]; !allZero(rest) {
		t.Errorf("the second connection's first read left %q of the first", rest[:20])
	}
	a.wipeReadBuffer()
	if string(buf[:len("second's")]) != "second's" {
		t.Errorf("the first connection's wipe zeroed the second's data: %q", buf[:8])
	}
	b.wipeReadBuffer()
	if !allZero(buf) {
		t.Error("the buffer is not zero after its owner's wipe")
	}
	readBufferOwners.Lock()
	_, held := readBufferOwners.m[sliceEnd(buf)]
	readBufferOwners.Unlock()
	if held {
		t.Error("the buffer is still registered after its owner's wipe")
	}
}

// TestServerWipesReadBuffers sends removal requests to a Server through
// the paths that end a connection: keep-alive, pipelining, Expect:
// 100-continue, a chunked body, a client that goes away mid-body and a
// body over the limit.
func TestServerWipesReadBuffers(t *testing.T) {
	ws := startWipeDaemon(t, Config{MaxBody: 64 << 10}, &pngRemover{})
	img := testPNG(t, 24, 16)
	request := func(extra string) string {
		req := secretRequest("SECRETdaemon", img, "Content-Type: image/png\r\n"+extra)
		return strings.Replace(req, "/echo", "/v1/remove", 1)
	}
	readOK := func(t *testing.T, r *bufio.Reader) {
		t.Helper()
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("read response: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	}

	t.Run("keep-alive", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		fmt.Fprint(c, request(""))
		readOK(t, r)
		fmt.Fprint(c, request("Connection: close\r\n"))
		readOK(t, r)
		ws.waitClosed(t)
	})

	t.Run("pipelined", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		fmt.Fprint(c, request("")+request("")+request("Connection: close\r\n"))
		for range 3 {
			readOK(t, r)
		}
		ws.waitClosed(t)
	})

	t.Run("expect 100-continue", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		header, _, _ := strings.Cut(request("Expect: 100-continue\r\nConnection: close\r\n"),
			"\r\n\r\n")
		fmt.Fprint(c, header+"\r\n\r\n")
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
			t.Fatalf("interim response %q, %v; want 100 Continue", line, err)
		}
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		c.Write(img)
		readOK(t, r)
		ws.waitClosed(t)
	})

	t.Run("chunked", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		fmt.Fprintf(c, "POST /v1/remove HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"+
			"Authorization: Bearer SECRETdaemon\r\nTransfer-Encoding: chunked\r\n"+
			"Connection: close\r\n\r\n%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n",
			10, img[:10], len(img)-10, img[10:])
		readOK(t, r)
		ws.waitClosed(t)
	})

	t.Run("early close", func(t *testing.T) {
		c, _ := dialWipeServer(t, ws)
		req := request("")
		fmt.Fprint(c, req[:len(req)-len(img)/2])
		time.Sleep(50 * time.Millisecond)
		c.Close()
		ws.waitClosed(t)
	})

	t.Run("body over the limit", func(t *testing.T) {
		c, r := dialWipeServer(t, ws)
		big := patternBody(7, 100<<10)
		req := secretRequest("SECRETdaemon", big, "Content-Type: image/png\r\n")
		fmt.Fprint(c, strings.Replace(req, "/echo", "/v1/remove", 1))
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("read response: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
		ws.waitClosed(t)
	})
}
