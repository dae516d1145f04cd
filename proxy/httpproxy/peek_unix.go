//go:build unix

package httpproxy

import (
	"crypto/tls"
	"net"
	"syscall"
)

// pendingOrClosed reports whether bytes are waiting on c's socket, or the
// peer has closed it, without consuming anything (recv with MSG_PEEK and
// MSG_DONTWAIT). A connection it cannot inspect counts as unclean.
func pendingOrClosed(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	dirty := true
	var buf [1]byte
	// The callback returns true: it must never wait for the socket to
	// become readable.
	err = raw.Read(func(fd uintptr) bool {
		for {
			_, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if rerr == syscall.EINTR {
				continue
			}
			// EAGAIN: open with nothing pending. Anything else is data
			// pending, the peer's close (0 bytes) or an error.
			dirty = rerr != syscall.EAGAIN && rerr != syscall.EWOULDBLOCK
			return true
		}
	})
	return dirty || err != nil
}
