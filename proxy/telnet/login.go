package telnet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// Prompts are what the login dialog looks for, matched case-insensitively against the end of the
// target's output (trailing spaces ignored) for User, Password and Shell, and anywhere in the
// output after the password for Failure.
type Prompts struct {
	User     []string
	Password []string
	Failure  []string
	Shell    []string
}

// DefaultPrompts work for Linux login(1) ("login:", "Password:") and common network gear
// ("Username:", "Password:", "User Name:").
func DefaultPrompts() Prompts {
	return Prompts{
		User:     []string{"login:", "username:", "user name:", "user:"},
		Password: []string{"password:", "passcode:"},
		Failure: []string{"login incorrect", "authentication failed", "access denied",
			"bad password", "login invalid", "login failed"},
		Shell: []string{"$", "#", ">", "%"},
	}
}

// LoginError is a failed login dialog: Err is ErrLoginFailed, ErrLoginTimeout or ErrClosed, and
// Reason says what was seen or awaited, in words fit for the user (never the password).
type LoginError struct {
	Addr   string
	Err    error
	Reason string
}

func (e *LoginError) Error() string {
	return fmt.Sprintf("telnet: login to %s: %v: %s", e.Addr, e.Err, e.Reason)
}

func (e *LoginError) Unwrap() error { return e.Err }

// maxTail is how much recent output the prompt matcher keeps: a prompt is a line, not a page.
const maxTail = 4 << 10

// maxPending bounds the output kept between the password and the login's success; it all goes to
// the user's first Reads.
const maxPending = 64 << 10

func endsWithAny(tail []byte, pats []string) bool {
	t := strings.ToLower(strings.TrimRight(string(tail), " \t\x00"))
	for _, p := range pats {
		if p != "" && strings.HasSuffix(t, strings.ToLower(p)) {
			return true
		}
	}
	return false
}

func containsAny(out []byte, pats []string) (string, bool) {
	t := strings.ToLower(string(out))
	for _, p := range pats {
		if p != "" && strings.Contains(t, strings.ToLower(p)) {
			return p, true
		}
	}
	return "", false
}

// login runs the dialog: user prompt, account; password prompt, password; then it waits for a
// refusal, a second login prompt, a shell prompt or a quiet moment. Whatever the target printed
// after the password is kept for the first Reads. The deadline on c.nc bounds it all.
func (c *Conn) login(cfg *Config, deadline time.Time) error {
	var tail []byte
	sentUser := false
	for {
		var err error
		n := len(tail)
		tail, err = c.readSome(tail)
		if len(tail) > maxTail {
			tail = tail[len(tail)-maxTail:]
		}
		switch {
		case len(tail) > n && endsWithAny(tail, cfg.Prompts.Password):
			// Network gear often asks for the password only; a login prompt may have come first.
			wire := escape(nil, append(bytes.Clone(cfg.Password), '\r'))
			_, err := c.nc.Write(wire)
			clear(wire) // the secret lives in the vault's copy only
			if err != nil {
				return fmt.Errorf("telnet: login to %s: send password: %w", cfg.Addr, err)
			}
			return c.afterPassword(cfg, deadline)
		case len(tail) > n && endsWithAny(tail, cfg.Prompts.User):
			if sentUser {
				return &LoginError{cfg.Addr, ErrLoginFailed, "asked for the user name again (wrong account?)"}
			}
			if _, err := c.Write([]byte(cfg.Account + "\r")); err != nil {
				return fmt.Errorf("telnet: login to %s: send user: %w", cfg.Addr, err)
			}
			sentUser, tail = true, tail[:0]
		}
		if err != nil {
			return loginError(cfg.Addr, "no login prompt", err)
		}
	}
}

// loginError names what the login was waiting for when err ended it.
func loginError(addr, waiting string, err error) error {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &LoginError{addr, ErrLoginTimeout, waiting}
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return &LoginError{addr, ErrClosed, waiting}
	}
	return fmt.Errorf("telnet: login to %s: %w", addr, err)
}

func (c *Conn) afterPassword(cfg *Config, deadline time.Time) error {
	var out []byte
	for {
		n := len(out)
		var err error
		out, err = c.readSome(out)
		if p, bad := containsAny(out, cfg.Prompts.Failure); bad {
			return &LoginError{cfg.Addr, ErrLoginFailed, fmt.Sprintf("the target said %q", p)}
		}
		if len(out) >= maxPending {
			// A refusal is a line or two; this much output without one is a session that began
			// with a flood (a long motd, a busy console). It is all owed to the user.
			c.pending = out
			return nil
		}
		tail := out[max(0, len(out)-maxTail):]
		if len(out) > n && endsWithAny(tail, cfg.Prompts.User) {
			return &LoginError{cfg.Addr, ErrLoginFailed, "asked for the login again"}
		}
		if len(out) > n && endsWithAny(tail, cfg.Prompts.Password) {
			return &LoginError{cfg.Addr, ErrLoginFailed, "asked for the password again"}
		}
		if len(out) > n && endsWithAny(tail, cfg.Prompts.Shell) {
			c.pending = out
			return nil
		}
		var ne net.Error
		if err != nil && errors.As(err, &ne) && ne.Timeout() && len(bytes.TrimSpace(out)) > 0 && time.Now().Before(deadline) {
			// Quiet after some output that is neither a refusal nor a prompt: logged in, with
			// a prompt we do not know.
			c.pending = out
			return nil
		}
		if err != nil {
			return loginError(cfg.Addr, "no answer to the password", err)
		}
		if len(bytes.TrimSpace(out)) > 0 {
			c.nc.SetReadDeadline(minTime(deadline, time.Now().Add(cfg.Settle)))
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
