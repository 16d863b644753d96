package daemon

import (
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// acceptBacklog accepts every connection waiting in ln's accept queue
// without blocking, so that closing ln does not reset them. It first
// attaches a socket filter that drops every packet to the listening
// socket, so a new client's SYN goes unanswered. Its connect() then cannot
// complete between the last accept and the close, which the runtime may
// delay until the goroutine blocked in Accept wakes up. Once the socket is
// closed, the client's retransmitted SYN is refused.
//
// NOTE: a handshake whose final ACK is in flight while the filter is
// attached is still reset at the close, a window of one loopback or
// network round trip.
func acceptBacklog(ln net.Listener) []net.Conn {
	sc, ok := ln.(syscall.Conn) // *net.TCPListener, *net.UnixListener
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	dropAll := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	var fds []int
	// The listening socket is non-blocking (the runtime's poller sets it
	// so), so accept4 fails with EAGAIN once the queue is empty.
	_ = raw.Control(func(fd uintptr) {
		// Without the filter the drain still works, only with a wider
		// window, so its error is ignored.
		_ = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_FILTER,
			&unix.SockFprog{Len: uint16(len(dropAll)), Filter: &dropAll[0]})
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
