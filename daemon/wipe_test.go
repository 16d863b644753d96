package daemon

import (
	"bufio"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// secretHeader is a request header whose every value is a secret.
const secretHeader = "POST /v1/remove?output=mask HTTP/1.1\r\n" +
	"Host: secret-host.example\r\n" +
	"User-Agent: secret-agent/1\r\n" +
	"Authorization: Bearer secret-auth\r\n" +
	"X-API-Key: secret-key\r\n" +
	"X-Signature: t=1,v1=secret-sig\r\n" +
	"Cookie: session=secret-cookie\r\n" +
	"X-Dup: secret-dup-1\r\n" +
	"X-Dup: secret-dup-2\r\n" +
	"Content-Type: image/png\r\n"

// storedValues returns the slices of fasthttp's storage that hold the
// secret values of secretHeader, and the raw header block. It fails when
// one is missing, so that a wipe has something to zero.
func storedValues(t *testing.T, h *fasthttp.RequestHeader) map[string][]byte {
	t.Helper()
	stored := map[string][]byte{}
	for _, name := range []string{"Host", "User-Agent", "Authorization", "X-API-Key",
		"X-Signature", "Cookie"} {
		stored[name] = h.Peek(name)
	}
	for i, v := range h.PeekAll("X-Dup") {
		stored["X-Dup "+string(rune('1'+i))] = v
	}
	stored["raw header"] = h.RawHeaders()
	for name, v := range stored {
		if !strings.Contains(string(v), "secret") {
			t.Fatalf("%s = %q, holds no secret", name, v)
		}
	}
	return stored
}

func checkWiped(t *testing.T, stored map[string][]byte) {
	t.Helper()
	for name, v := range stored {
		if !allZero(v[:cap(v)]) {
			t.Errorf("%s not wiped: %q", name, v)
		}
	}
}

func TestWipeHeaderAfterHandler(t *testing.T) {
	s, err := New(Config{Logger: slog.New(slog.DiscardHandler)}, &pngRemover{})
	if err != nil {
		t.Fatal(err)
	}
	body := "secret-body that is no image"
	raw := secretHeader + "Content-Length: 28\r\n\r\n" + body

	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, nil, nil)
	if err := ctx.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	s.headerReceived(&ctx.Request.Header) // as fasthttp calls it before the body
	stored := storedValues(t, &ctx.Request.Header)
	stored["body"] = ctx.Request.Body()

	s.handle(&ctx)
	if got := ctx.Response.StatusCode(); got != fasthttp.StatusUnsupportedMediaType {
		t.Fatalf("status = %d, want 415 (%s)", got, ctx.Response.Body())
	}
	checkWiped(t, stored)
}

func TestWipeHeaderAfterReadError(t *testing.T) {
	s, err := New(Config{Logger: slog.New(slog.DiscardHandler)}, &pngRemover{})
	if err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, nil, nil)
	// The server keeps each RequestCtx's body buffer across requests.
	ctx.Request.KeepBodyBuffer = true
	r := bufio.NewReader(strings.NewReader(secretHeader + "Content-Length: 1000\r\n\r\n" +
		"secret-body cut short"))
	if err := ctx.Request.Header.Read(r); err != nil {
		t.Fatal(err)
	}
	s.headerReceived(&ctx.Request.Header)
	stored := storedValues(t, &ctx.Request.Header)

	// The body ends early: fasthttp resets the request, header included,
	// and keeps what it read in the body buffer, past the body's length.
	readErr := ctx.Request.ContinueReadBody(r, 1<<20, false)
	if readErr == nil {
		t.Fatal("reading the short body succeeded")
	}
	if len(ctx.Request.Header.RawHeaders()) != 0 {
		t.Fatal("fasthttp kept the header after the read error")
	}
	body := ctx.Request.Body()
	stored["body buffer"] = body[:cap(body)]
	if !strings.Contains(string(body[:cap(body)]), "secret-body") {
		t.Fatal("the body buffer holds none of the body read")
	}

	s.handleReadError(&ctx, readErr)
	if got := ctx.Response.StatusCode(); got != fasthttp.StatusBadRequest {
		t.Errorf("status = %d, want 400", got)
	}
	checkWiped(t, stored)
}

func TestWipeKeepsSharedConstants(t *testing.T) {
	// Wiping a request whose Connection is "close", or a header without a
	// URI, must not zero the constants fasthttp returns for them.
	s, err := New(Config{Logger: slog.New(slog.DiscardHandler)}, &pngRemover{})
	if err != nil {
		t.Fatal(err)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&fasthttp.Request{}, nil, nil)
	raw := "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	if err := ctx.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatal(err)
	}
	s.headerReceived(&ctx.Request.Header)
	s.handle(&ctx)
	var empty fasthttp.Request
	wipeRequest(&empty, recordHeaderValues(&empty.Header, nil), true)

	var h fasthttp.RequestHeader
	h.SetConnectionClose()
	if got := string(h.Peek("Connection")); got != "close" {
		t.Errorf(`Connection of a new header = %q, want "close"`, got)
	}
	if got := string(h.RequestURI()); got != "/" {
		t.Errorf(`RequestURI of a new header = %q, want "/"`, got)
	}
	var out strings.Builder
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://x/")
	req.Header.SetConnectionClose()
	if _, err := req.WriteTo(&out); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Connection: close") {
		t.Errorf("a request written after the wipe lacks Connection: close:\n%s", out.String())
	}
}
