//go:build unix

package httpproxy

import (
	"crypto/tls"
	"net"
	"syscall"
)

// socketPeek looks at a connection's socket without consuming anything
// (recv with MSG_PEEK and MSG_DONTWAIT). It is made once per connection:
// the check runs on every reuse of a pooled connection.
type socketPeek struct {
	raw   syscall.RawConn
	buf   [1]byte
	dirty bool
	fn    func(fd uintptr) bool
}

func newSocketPeek(c net.Conn) *socketPeek {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	s := &socketPeek{raw: raw}
	// The callback returns true: it must never wait for the socket to
	// become readable.
	s.fn = func(fd uintptr) bool {
		for {
			_, _, err := syscall.Recvfrom(int(fd), s.buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if err == syscall.EINTR {
				continue
			}
			// EAGAIN: open with nothing pending. Anything else is data
			// pending, the peer's close (0 bytes) or an error.
			s.dirty = err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
			return true
		}
	}
	return s
}

// pendingOrClosed reports whether bytes are waiting on the socket, or the
// peer has closed it. A connection that cannot be inspected counts as
// unclean.
func (s *socketPeek) pendingOrClosed() bool {
	if s == nil {
		return true
	}
	s.dirty = true
	if err := s.raw.Read(s.fn); err != nil {
		return true
	}
	return s.dirty
}
