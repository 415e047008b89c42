package server

import (
	"log/slog"
	"net"
	"sync"
)

// limitListener holds at most cap(slots) connections open at once. Each
// open connection costs a descriptor, and PID 1 has RLIMIT_NOFILE 4096 for
// everything: the model file, attestation fetches, DHCP's sockets, the
// arenas. A client, or the host, which sits on the network path, could
// otherwise open thousands of idle connections and make those fail. At
// the limit Accept waits, so the excess queues in the kernel's listen
// backlog, which costs this process no descriptor, and is taken in order
// as connections close (the server's header and idle timeouts bound how
// long an idle one holds its slot).
type limitListener struct {
	net.Listener
	slots  chan struct{}
	closed chan struct{}
	once   sync.Once
	log    *slog.Logger
	full   bool // only Accept's goroutine (http.Server's loop) reads and writes it
}

func newLimitListener(ln net.Listener, n int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{}), log: log}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
		l.full = false
	default:
		if !l.full {
			// Once per episode: a flood must not flood the console too.
			l.full = true
			l.log.Warn("connection limit reached; new connections wait", "limit", cap(l.slots))
		}
		select {
		case l.slots <- struct{}{}:
		case <-l.closed:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, slots: l.slots}, nil
}

// Close also wakes an Accept that waits for a slot, so Shutdown is not
// held up by a full server.
func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitConn gives its slot back on its first Close; net/http may close a
// connection more than once.
type limitConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.slots })
	return err
}
