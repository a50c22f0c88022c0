package access

import (
	"fmt"
	"strings"
	"time"
)

// TelnetLogin overrides how Vigil logs in to one telnet target. Every field is optional: an empty
// list or a zero duration keeps proxy/telnet's default (Linux login(1) and common network gear),
// so a target that needs only a different password prompt names only that.
//
// Prompts are matched case-insensitively against the end of the target's output (user, password,
// shell) or anywhere after the password (failure); see proxy/telnet.Prompts.
type TelnetLogin struct {
	UserPrompts     []string      `mapstructure:"user_prompts" json:"user_prompts,omitempty"`
	PasswordPrompts []string      `mapstructure:"password_prompts" json:"password_prompts,omitempty"`
	ShellPrompts    []string      `mapstructure:"shell_prompts" json:"shell_prompts,omitempty"`
	FailurePatterns []string      `mapstructure:"failure_patterns" json:"failure_patterns,omitempty"`
	LoginTimeout    time.Duration `mapstructure:"login_timeout" json:"login_timeout,omitempty"`
}

// maxPromptLen bounds one pattern: the login matcher keeps only the last few KiB of output, and a
// prompt is a few words.
const maxPromptLen = 256

// maxLoginTimeout bounds LoginTimeout: a session that waits longer for a prompt is a stuck one.
const maxLoginTimeout = 10 * time.Minute

// IsZero reports whether l overrides nothing.
func (l *TelnetLogin) IsZero() bool {
	return l == nil || (len(l.UserPrompts) == 0 && len(l.PasswordPrompts) == 0 && len(l.ShellPrompts) == 0 &&
		len(l.FailurePatterns) == 0 && l.LoginTimeout == 0)
}

func (l *TelnetLogin) validate(target, protocol string) error {
	if l.IsZero() {
		return nil
	}
	if protocol != "telnet" {
		return invalid("target %q: telnet login options on a %s target", target, protocol)
	}
	lists := []struct {
		field string
		pats  []string
	}{
		{"user_prompts", l.UserPrompts}, {"password_prompts", l.PasswordPrompts},
		{"shell_prompts", l.ShellPrompts}, {"failure_patterns", l.FailurePatterns},
	}
	for _, f := range lists {
		for i, p := range f.pats {
			// An empty pattern would match every output, i.e. answer a prompt that never came.
			if strings.TrimSpace(p) == "" || len(p) > maxPromptLen ||
				strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				return invalid("target %q: telnet %s[%d] %q (want 1-%d printable characters)", target, f.field, i, abbreviate(p), maxPromptLen)
			}
		}
	}
	if l.LoginTimeout < 0 || l.LoginTimeout > maxLoginTimeout {
		return invalid("target %q: telnet login_timeout %s (want 0 for the default, or up to %s)", target, l.LoginTimeout, maxLoginTimeout)
	}
	return nil
}

// String summarises the overrides for listings, e.g. "password: Passcode:; timeout 30s".
func (l *TelnetLogin) String() string {
	if l.IsZero() {
		return ""
	}
	var parts []string
	add := func(name string, pats []string) {
		if len(pats) > 0 {
			parts = append(parts, fmt.Sprintf("%s: %s", name, strings.Join(pats, " | ")))
		}
	}
	add("user", l.UserPrompts)
	add("password", l.PasswordPrompts)
	add("shell", l.ShellPrompts)
	add("failure", l.FailurePatterns)
	if l.LoginTimeout > 0 {
		parts = append(parts, "timeout "+l.LoginTimeout.String())
	}
	return strings.Join(parts, "; ")
}
