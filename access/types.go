package access

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
)

var (
	// ErrBadCredentials: unknown user or wrong password or key; the two are not told apart.
	ErrBadCredentials = errors.New("access: bad credentials")
	// ErrNoSuchTarget: the target does not exist, or the user may not see it.
	ErrNoSuchTarget = errors.New("access: no such target")
	// ErrDenied: the user may not use that account on that target.
	ErrDenied = errors.New("access: denied")
	// ErrHostKeyMismatch: a target presented a host key other than the pinned or first-seen one.
	ErrHostKeyMismatch = errors.New("access: host key mismatch")
	// ErrNotFound: no user, target or grant by that name.
	ErrNotFound = errors.New("access: not found")
	// ErrExists: a user, target or grant by that name exists already.
	ErrExists = errors.New("access: already exists")
	// ErrFromConfig: the entry comes from the configuration file and can change only there.
	ErrFromConfig = errors.New("access: defined in the configuration file; change it there")
	// ErrInUse: a user or target still has grants.
	ErrInUse = errors.New("access: still in use")
	// ErrInvalid: a name, role, port, protocol, key or hash is malformed.
	ErrInvalid = errors.New("access: invalid")
)

// Role is what a user may do in Vigil itself.
type Role string

const (
	RoleUser    Role = "user"    // reaches granted targets
	RoleAuditor Role = "auditor" // also watches, searches and replays sessions
	RoleAdmin   Role = "admin"   // also manages users, targets, grants and credentials
)

// User is a person who logs in to Vigil.
type User struct {
	Name         string `mapstructure:"name" json:"name"`
	PasswordHash string `mapstructure:"password_hash" json:"password_hash,omitempty"` // HashPassword's PHC string
	// PublicKeys are authorized_keys lines, without options.
	PublicKeys []string `mapstructure:"public_keys" json:"public_keys,omitempty"`
	Role       Role     `mapstructure:"role" json:"role"`
	// Export lets an auditor or admin take evidence bundles out through the web UI. It is a
	// permission of its own, off by default: watching a session is not the same as handing it to a
	// third party. (The CLI's `vigil export` runs on the node with the data directory's keys, so
	// whoever runs it is the node's operator; it is audited the same way.)
	Export bool `mapstructure:"export" json:"export,omitempty"`
}

// Target is a server Vigil logs in to on a user's behalf.
type Target struct {
	Name     string `mapstructure:"name" json:"name"`
	Host     string `mapstructure:"host" json:"host"`
	Port     int    `mapstructure:"port" json:"port"`
	Protocol string `mapstructure:"protocol" json:"protocol"` // "ssh", "telnet", "vnc" or "rdp"
	// HostKey pins the target's SSH host key: an authorized_keys-style public key or a
	// "SHA256:..." fingerprint. Empty means trust on first use: the first key seen is recorded in
	// the store and enforced from then on.
	HostKey string `mapstructure:"host_key" json:"host_key,omitempty"`
	// Telnet overrides the login prompts and timeout of a telnet target; nil keeps the defaults.
	Telnet *TelnetLogin `mapstructure:"telnet" json:"telnet,omitempty"`
	// RDP sets an rdp target's security mode, domain and pinned certificate; nil keeps the
	// defaults (negotiate, no domain, certificate trusted on first use).
	RDP *RDPSettings `mapstructure:"rdp" json:"rdp,omitempty"`
}

// Grant lets User reach Target, logged in as Account with the vault's credential for it.
type Grant struct {
	User         string `mapstructure:"user" json:"user"`
	Target       string `mapstructure:"target" json:"target"`
	Account      string `mapstructure:"account" json:"account"`
	PortForward  bool   `mapstructure:"port_forward" json:"port_forward,omitempty"`
	AgentForward bool   `mapstructure:"agent_forward" json:"agent_forward,omitempty"`
}

// Config is the access policy written in the configuration file, under "access". Its entries
// merge with those the CLI adds and cannot be changed or removed by the CLI.
type Config struct {
	Users   []User   `mapstructure:"users"`
	Targets []Target `mapstructure:"targets"`
	Grants  []Grant  `mapstructure:"grants"`
}

// nameRE is the rule for user and target names. '@' is excluded because an SSH login name is
// user@target (or user@account@target), and upper case because names are compared as given.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidName reports whether s is a valid user or target name.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// ValidAccount reports whether s may name an account on a target: 1-64 printable characters
// without spaces or '@' (the login syntax's separator; Windows accounts use DOMAIN\user).
func ValidAccount(s string) bool {
	return len(s) > 0 && len(s) <= 64 && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '@'
	})
}

// DefaultPort returns the usual port of a protocol, 0 for an unknown one.
func DefaultPort(protocol string) int {
	return map[string]int{"ssh": 22, "telnet": 23, "vnc": 5900, "rdp": 3389}[protocol]
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

func (u *User) normalize() {
	if u.Role == "" {
		u.Role = RoleUser
	}
}

func (u User) validate() error {
	if !ValidName(u.Name) {
		return invalid("user name %q (want [a-z0-9][a-z0-9._-]{0,63})", u.Name)
	}
	switch u.Role {
	case RoleUser, RoleAuditor, RoleAdmin, "":
	default:
		return invalid("user %q: role %q (want user, auditor or admin)", u.Name, u.Role)
	}
	if u.PasswordHash != "" {
		if _, err := parsePHC(u.PasswordHash); err != nil {
			return fmt.Errorf("user %q: password hash: %w", u.Name, err)
		}
	}
	for _, k := range u.PublicKeys {
		if _, err := parseUserKey(k); err != nil {
			return fmt.Errorf("user %q: %w", u.Name, err)
		}
	}
	return nil
}

func parseUserKey(line string) (ssh.PublicKey, error) {
	key, _, opts, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, invalid("public key %q: %v", abbreviate(line), err)
	}
	if len(opts) > 0 {
		// Options such as from= or no-pty would be silently ignored: refuse them instead.
		return nil, invalid("public key %q: authorized_keys options are not supported", abbreviate(line))
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return nil, invalid("public key %q: one key per line", abbreviate(line))
	}
	return key, nil
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

func (t *Target) normalize() {
	if t.Protocol == "" {
		t.Protocol = "ssh"
	}
	if t.Port == 0 {
		t.Port = DefaultPort(t.Protocol)
	}
}

func (t Target) validate() error {
	if !ValidName(t.Name) {
		return invalid("target name %q (want [a-z0-9][a-z0-9._-]{0,63})", t.Name)
	}
	if t.Host == "" || strings.ContainsFunc(t.Host, func(r rune) bool { return r <= ' ' || r == '/' || r == '@' }) {
		return invalid("target %q: host %q", t.Name, t.Host)
	}
	if t.Port < 0 || t.Port > 65535 {
		return invalid("target %q: port %d", t.Name, t.Port)
	}
	switch t.Protocol {
	case "ssh", "telnet", "vnc", "rdp", "":
	default:
		return invalid("target %q: protocol %q (want ssh, telnet, vnc or rdp)", t.Name, t.Protocol)
	}
	if t.HostKey != "" {
		if _, err := parsePin(t.HostKey); err != nil {
			return fmt.Errorf("target %q: %w", t.Name, err)
		}
	}
	proto := t.Protocol
	if proto == "" {
		proto = "ssh"
	}
	if err := t.RDP.validate(t.Name, proto); err != nil {
		return err
	}
	return t.Telnet.validate(t.Name, proto)
}

func (g Grant) validate() error {
	switch {
	case !ValidName(g.User):
		return invalid("grant: user name %q", g.User)
	case !ValidName(g.Target):
		return invalid("grant: target name %q", g.Target)
	case !ValidAccount(g.Account):
		return invalid("grant: account %q (want 1-64 printable characters, no spaces or '@')", g.Account)
	}
	return nil
}

func (g Grant) same(o Grant) bool {
	return g.User == o.User && g.Target == o.Target && g.Account == o.Account
}

// Validate checks the form of every entry; the errors name the field ("access.users[2]: ...").
// Whether a grant's user and target exist is checked by OpenStore, since a config grant may name
// a user or target added with the CLI.
func (c Config) Validate() error {
	var errs []error
	users, targets := map[string]bool{}, map[string]bool{}
	for i, u := range c.Users {
		if err := u.validate(); err != nil {
			errs = append(errs, fmt.Errorf("access.users[%d]: %w", i, err))
		} else if users[u.Name] {
			errs = append(errs, fmt.Errorf("access.users[%d]: %w: user %q", i, ErrExists, u.Name))
		}
		users[u.Name] = true
	}
	for i, t := range c.Targets {
		if err := t.validate(); err != nil {
			errs = append(errs, fmt.Errorf("access.targets[%d]: %w", i, err))
		} else if targets[t.Name] {
			errs = append(errs, fmt.Errorf("access.targets[%d]: %w: target %q", i, ErrExists, t.Name))
		}
		targets[t.Name] = true
	}
	for i, g := range c.Grants {
		if err := g.validate(); err != nil {
			errs = append(errs, fmt.Errorf("access.grants[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}
