package daemon

import (
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// acceptBacklog accepts every connection waiting in ln's accept queue
// without blocking, so that closing ln does not reset them.
//
// NOTE: a connection that completes its handshake between the last
// accept and the close is still reset, a window of one system call.
func acceptBacklog(ln net.Listener) []net.Conn {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil
	}
	raw, err := tl.SyscallConn()
	if err != nil {
		return nil
	}
	var fds []int
	// The listening socket is non-blocking (the runtime's poller sets it
	// so), so accept4 fails with EAGAIN once the queue is empty.
	_ = raw.Control(func(fd uintptr) {
		for {
			nfd, _, err := unix.Accept4(int(fd), unix.SOCK_CLOEXEC)
			if err == unix.EINTR || err == unix.ECONNABORTED {
				continue
			}
			if err != nil {
				return
			}
			fds = append(fds, nfd)
		}
	})

	conns := make([]net.Conn, 0, len(fds))
	for _, fd := range fds {
		f := os.NewFile(uintptr(fd), "backlog")
		c, err := net.FileConn(f) // duplicates the descriptor
		f.Close()
		if err == nil {
			conns = append(conns, c)
		}
	}
	return conns
}
