package daemon

import (
	"errors"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// watchPeer calls gone, at most once, when the client of conn closes or
// resets the connection while its request is served. It polls with a
// non-blocking recv(MSG_PEEK) that consumes nothing, so fasthttp reads any
// pipelined request as usual. A readable connection with data waiting
// (such a pipelined request) cannot show a close, and so is not reported.
// stop ends the watch and must be called.
//
// NOTE: a client that shuts down only its sending side after its request
// looks the same as one that closed the connection, so its job is
// cancelled too.
func watchPeer(conn net.Conn, gone func()) (stop func()) {
	raw := rawConn(conn)
	if raw == nil {
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		tick := time.NewTicker(peerPollInterval)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			if peerClosed(raw) {
				gone()
				return
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

// peerClosed reports whether a non-blocking peek at the connection finds
// the end of the stream or a connection error.
func peerClosed(raw syscall.RawConn) bool {
	var closed bool
	var peek [1]byte
	err := raw.Control(func(fd uintptr) {
		n, _, err := unix.Recvfrom(int(fd), peek[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		case err != nil:
			closed = true // ECONNRESET and the like
		case n == 0:
			closed = true // the client's FIN
		}
	})
	return err == nil && closed
}

// rawConn returns the socket under conn, or nil when conn is not a socket
// of this process (a test's in-memory pipe).
func rawConn(conn net.Conn) syscall.RawConn {
	if sc, ok := conn.(*serverConn); ok {
		conn = sc.Conn
	}
	sys, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sys.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
