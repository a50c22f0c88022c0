package telnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Sentinel errors. Dial's errors wrap one of them and read as a line the user can be shown; none
// contains the password.
var (
	ErrLoginFailed  = errors.New("login failed")    // the target refused the credential
	ErrLoginTimeout = errors.New("login timed out") // no prompt (or no answer) in time
	ErrClosed       = errors.New("target closed the connection")
)

// Config says where and how to log in. Zero fields take the defaults of DefaultConfig.
type Config struct {
	Addr     string // host:port
	Account  string
	Password []byte // the vaulted secret; sent once, at the password prompt, and kept nowhere
	Prompts  Prompts
	Term     string // TTYPE answer; default xterm-256color
	Cols     uint16 // initial window size; default 80x24
	Rows     uint16
	// DialTimeout bounds the TCP connect; LoginTimeout bounds the whole login dialog.
	DialTimeout  time.Duration
	LoginTimeout time.Duration
	// Settle is how long the target must be quiet after the password, having printed something
	// that is neither a refusal nor a prompt, before the login counts as done. A shell prompt
	// (Prompts.Shell) ends the wait at once.
	Settle time.Duration
}

// DefaultConfig returns the defaults; the caller sets Addr, Account and Password.
func DefaultConfig() Config {
	return Config{
		Prompts:      DefaultPrompts(),
		Term:         "xterm-256color",
		Cols:         80,
		Rows:         24,
		DialTimeout:  5 * time.Second,
		LoginTimeout: 15 * time.Second,
		Settle:       time.Second,
	}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if len(c.Prompts.User) == 0 {
		c.Prompts.User = d.Prompts.User
	}
	if len(c.Prompts.Password) == 0 {
		c.Prompts.Password = d.Prompts.Password
	}
	if len(c.Prompts.Failure) == 0 {
		c.Prompts.Failure = d.Prompts.Failure
	}
	if len(c.Prompts.Shell) == 0 {
		c.Prompts.Shell = d.Prompts.Shell
	}
	if c.Term == "" {
		c.Term = d.Term
	}
	if c.Cols == 0 || c.Rows == 0 {
		c.Cols, c.Rows = d.Cols, d.Rows
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = d.DialTimeout
	}
	if c.LoginTimeout <= 0 {
		c.LoginTimeout = d.LoginTimeout
	}
	if c.Settle <= 0 {
		c.Settle = d.Settle
	}
}

// Conn is a logged-in telnet session. Read and Write may be called from different goroutines;
// Resize from any goroutine.
type Conn struct {
	nc net.Conn

	rmu     sync.Mutex // serialises Read, which owns neg's parsing
	pending []byte     // output read during the login, owed to the first Reads
	rbuf    []byte
	dbuf    []byte // the data of the last read, handed out through pending

	wmu sync.Mutex // serialises writes to nc: the user's bytes and the negotiator's replies
	neg *negotiator
	// nmu guards neg: Read parses with it, Resize queues NAWS with it.
	nmu sync.Mutex
}

// Dial connects to cfg.Addr and logs in. It returns an error wrapping ErrLoginFailed when the
// target refused the credential, ErrLoginTimeout when no prompt came in time, ErrClosed when the
// target hung up during the login, and a dial error otherwise.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	cfg.fill()
	d := net.Dialer{Timeout: cfg.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("telnet: dial %s: %w", cfg.Addr, err)
	}
	c := &Conn{nc: nc, neg: newNegotiator(cfg.Term, cfg.Cols, cfg.Rows), rbuf: make([]byte, 32<<10)}
	// The login's deadline; ctx ending ends the login too.
	deadline := time.Now().Add(cfg.LoginTimeout)
	nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	err = c.login(&cfg, deadline)
	stop()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return c, nil
}

// readSome reads once from the target, answers negotiation and returns the data (possibly empty).
func (c *Conn) readSome(dst []byte) ([]byte, error) {
	n, err := c.nc.Read(c.rbuf)
	c.nmu.Lock()
	dst = c.neg.feed(dst, c.rbuf[:n])
	reply := c.neg.out
	c.neg.out = nil
	c.nmu.Unlock()
	if len(reply) > 0 {
		if werr := c.writeRaw(reply); werr != nil && err == nil {
			err = werr
		}
	}
	return dst, err
}

func (c *Conn) writeRaw(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(p)
	return err
}

// Read returns the target's output with the telnet protocol taken out. It returns io.EOF when the
// target closed the connection.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if len(c.pending) > 0 {
			n := copy(p, c.pending)
			c.pending = c.pending[n:]
			return n, nil
		}
		if len(p) == 0 {
			return 0, nil
		}
		data, err := c.readSome(c.dbuf[:0])
		c.pending, c.dbuf = data, data[:0] // reused: the next read comes after pending is drained
		if len(data) == 0 && err != nil {
			return 0, err
		}
	}
}

// Write sends the user's input, escaped; it reports len(p) written on success.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.writeRaw(escape(make([]byte, 0, len(p)+8), p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Resize tells the target the window size, if it agreed to NAWS; otherwise the size is kept and
// sent if it agrees later.
func (c *Conn) Resize(cols, rows uint16) error {
	c.nmu.Lock()
	c.neg.resize(cols, rows)
	reply := c.neg.out
	c.neg.out = nil
	c.nmu.Unlock()
	if len(reply) == 0 {
		return nil
	}
	return c.writeRaw(reply)
}

// CloseWrite half-closes the connection: the target reads EOF.
func (c *Conn) CloseWrite() error {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return c.nc.Close()
}

// Close closes the connection; a blocked Read returns.
func (c *Conn) Close() error { return c.nc.Close() }

// RemoteAddr is the target's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }
