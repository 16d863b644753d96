package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

func TestListenerCloseKeepsBacklog(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the accept queue is drained on Linux only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := newServerListener(ln)

	// Connections the kernel has completed but the server has not accepted
	// yet, each with a request written.
	const n = 3
	var clients []net.Conn
	for i := range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "request %d\n", i)
		clients = append(clients, c)
	}
	time.Sleep(20 * time.Millisecond) // let the handshakes reach the queue

	if err := sl.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := sl.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for i := range n {
		c, err := sl.Accept()
		if err != nil {
			t.Fatalf("Accept %d after Close: %v", i, err)
		}
		if _, ok := c.(*serverConn); !ok {
			t.Errorf("connection %d is a %T, want a *serverConn", i, c)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != fmt.Sprintf("request %d\n", i) {
			t.Errorf("connection %d read %q, %v; want its request", i, line, err)
		}
		fmt.Fprintf(c, "answer %d\n", i)
		c.Close()
	}
	if _, err := sl.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after the backlog = %v, want net.ErrClosed", err)
	}
	for i, c := range clients {
		got, err := io.ReadAll(c)
		if err != nil || string(got) != fmt.Sprintf("answer %d\n", i) {
			t.Errorf("client %d got %q, %v; want its answer", i, got, err)
		}
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the closed listener still accepts connections")
	}
}
