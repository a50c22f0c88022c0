package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// upstreamCiphers puts AES-GCM first: x/crypto's chacha20-poly1305 has no assembly and costs 2.3x
// the CPU of AES-GCM on this hardware class (DESIGN.md).
var upstreamCiphers = []string{
	"aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
	"chacha20-poly1305@openssh.com",
	"aes128-ctr", "aes192-ctr", "aes256-ctr",
}

// refusal is an error the user is shown as one line, with the cause kept for the audit log and the
// recording. The line never contains a credential.
type refusal struct {
	line  string
	cause error
}

func (r *refusal) Error() string { return r.line }
func (r *refusal) Unwrap() error { return r.cause }

func refuse(cause error, format string, args ...any) error {
	return &refusal{line: "vigil: " + fmt.Sprintf(format, args...), cause: cause}
}

// userLine is the line to show the user for err.
func userLine(err error) string {
	var r *refusal
	if errors.As(err, &r) {
		return r.line
	}
	return "vigil: session failed"
}

// errHostKey marks the error our host key callback wrapper returned, so a mismatch is told apart
// from other handshake failures without matching strings.
var errHostKey = errors.New("host key mismatch")

// dialUpstream connects and logs in to the target. The whole of it, TCP and SSH handshake, is
// bounded by timeout so a black-holed target gives the user an answer within seconds.
func dialUpstream(ctx context.Context, up Upstream, timeout time.Duration) (ssh.Conn, <-chan ssh.NewChannel, <-chan *ssh.Request, error) {
	var (
		hkMu  sync.Mutex
		hkErr error
	)
	hostKeyCallback := up.HostKeyCallback
	if hostKeyCallback == nil {
		// Never trust on first use: a target without a pinned key is refused.
		hostKeyCallback = func(string, net.Addr, ssh.PublicKey) error { return errors.New("no pinned host key") }
	}
	cfg := &ssh.ClientConfig{
		User: up.Account,
		Auth: up.Auth,
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			if err := hostKeyCallback(host, remote, key); err != nil {
				hkMu.Lock()
				hkErr = err
				hkMu.Unlock()
				return fmt.Errorf("%w: %w", errHostKey, err)
			}
			return nil
		},
		Timeout: timeout,
	}
	cfg.Ciphers = upstreamCiphers
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", up.Addr)
	if err != nil {
		return nil, nil, nil, refuse(fmt.Errorf("%w: dial %s: %w", ErrUpstream, up.Addr, err),
			"target %s is unreachable: %s", up.Target, dialReason(err))
	}
	c.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	conn, chans, reqs, err := ssh.NewClientConn(c, up.Addr, cfg)
	if err != nil {
		c.Close()
		hkMu.Lock()
		mismatch := hkErr != nil
		hkMu.Unlock()
		wrapped := fmt.Errorf("%w: login to %s: %w", ErrUpstream, up.Addr, err)
		switch {
		case mismatch:
			return nil, nil, nil, refuse(wrapped, "host key of %s does not match the pinned key", up.Target)
		case strings.Contains(err.Error(), "unable to authenticate"):
			// x/crypto has no sentinel for a refused login; this text is stable across versions.
			return nil, nil, nil, refuse(wrapped, "target %s refused the vaulted credential", up.Target)
		default:
			return nil, nil, nil, refuse(wrapped, "target %s is unreachable: %s", up.Target, dialReason(err))
		}
	}
	c.SetDeadline(time.Time{})
	return conn, chans, reqs, nil
}

// dialReason is the short reason of a failed dial, as the OS or the protocol tells it.
func dialReason(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err.Error()
	}
	if errors.Is(err, context.Canceled) {
		return "canceled"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "unknown host"
	}
	if strings.Contains(err.Error(), "ssh:") {
		return "ssh handshake failed"
	}
	return "connection failed"
}
