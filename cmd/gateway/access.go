package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/cmd/config"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/proxy/telnet"
	"github.com/seed18fc72c3/vigil/vault"
	"golang.org/x/crypto/ssh"
)

// AccessPath, VaultDir and AuditPath are where the access store, the vault and the audit log live
// in the data directory.
func AccessPath(cfg config.Config) string { return cfg.Path("access.json") }
func VaultDir(cfg config.Config) string   { return cfg.Path("vault") }
func AuditPath(cfg config.Config) string  { return cfg.Path("audit.jsonl") }

// OpenAccess opens the access store and the vault of cfg and returns them as proxy/ssh's
// Authenticator and Policy.
func OpenAccess(cfg config.Config, log *slog.Logger) (*Access, *Access, error) {
	store, err := access.OpenStore(AccessPath(cfg), cfg.Access)
	if err != nil {
		return nil, nil, err
	}
	v, err := vault.Open(VaultDir(cfg))
	if err != nil {
		return nil, nil, err
	}
	a := &Access{Store: store, Vault: v, Log: log}
	return a, a, nil
}

// Access answers the SSH gateway's questions from the access store and the vault.
type Access struct {
	Store *access.Store
	Vault *vault.Vault
	Log   *slog.Logger
}

var (
	_ proxyssh.Authenticator = (*Access)(nil)
	_ proxyssh.Policy        = (*Access)(nil)
)

func (a *Access) Password(_ context.Context, user string, pw []byte, _ netip.Addr) (proxyssh.Principal, error) {
	u, err := a.Store.AuthenticatePassword(user, pw)
	return principal(u, err)
}

func (a *Access) PublicKey(_ context.Context, user string, key ssh.PublicKey, _ netip.Addr) (proxyssh.Principal, error) {
	u, err := a.Store.AuthenticateKey(user, key)
	return principal(u, err)
}

func principal(u access.User, err error) (proxyssh.Principal, error) {
	if errors.Is(err, access.ErrBadCredentials) {
		return proxyssh.Principal{}, fmt.Errorf("%w: %w", proxyssh.ErrBadCredential, err)
	}
	if err != nil {
		return proxyssh.Principal{}, err
	}
	return proxyssh.Principal{User: u.Name, Role: string(u.Role)}, nil
}

// Targets lists the targets p holds a grant on that the SSH front end reaches: SSH and telnet.
func (a *Access) Targets(_ context.Context, p proxyssh.Principal) ([]string, error) {
	var names []string
	for _, t := range a.Store.Permitted(p.User) {
		if t.Protocol == "ssh" || t.Protocol == "telnet" {
			names = append(names, t.Name)
		}
	}
	return names, nil
}

// Resolve authorizes p for target ("target" or "account@target") and fetches the vaulted
// credential. The credential goes into the returned auth methods only; it is never logged.
func (a *Access) Resolve(_ context.Context, p proxyssh.Principal, target string) (proxyssh.Upstream, error) {
	t, g, err := a.Store.Authorize(p.User, target)
	switch {
	case errors.Is(err, access.ErrNoSuchTarget):
		return proxyssh.Upstream{}, fmt.Errorf("%w: %q", proxyssh.ErrNoSuchTarget, target)
	case errors.Is(err, access.ErrDenied):
		return proxyssh.Upstream{}, fmt.Errorf("%w: %w", proxyssh.ErrDenied, err)
	case err != nil:
		return proxyssh.Upstream{}, err
	}
	if t.Protocol != "ssh" && t.Protocol != "telnet" {
		return proxyssh.Upstream{}, fmt.Errorf("%w: target %q speaks %s, not ssh or telnet", proxyssh.ErrNoSuchTarget, t.Name, t.Protocol)
	}
	secret, err := a.Vault.Get(t.Name, g.Account)
	if errors.Is(err, vault.ErrNotFound) {
		return proxyssh.Upstream{}, fmt.Errorf("%w: no credential for %s@%s in the vault", proxyssh.ErrDenied, g.Account, t.Name)
	}
	if err != nil {
		return proxyssh.Upstream{}, fmt.Errorf("vault: %w", err)
	}
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	if t.Protocol == "telnet" {
		// Telnet logs in by typing the password at the target's prompt: a key cannot be used.
		if len(secret.Password) == 0 {
			return proxyssh.Upstream{}, fmt.Errorf("credential for %s@%s: a telnet target needs a vaulted password", g.Account, t.Name)
		}
		return proxyssh.Upstream{
			Target: t.Name, Account: g.Account, Addr: addr, Protocol: "telnet", Password: secret.Password,
			Telnet: telnetConfig(t.Telnet),
		}, nil
	}
	auth, err := authMethods(secret)
	if err != nil {
		return proxyssh.Upstream{}, fmt.Errorf("credential for %s@%s: %w", g.Account, t.Name, err)
	}
	return proxyssh.Upstream{
		Target:          t.Name,
		Account:         g.Account,
		Addr:            addr,
		Auth:            auth,
		HostKeyCallback: a.Store.HostKeyCallback(t.Name),
		PortForward:     g.PortForward,
		AgentForward:    g.AgentForward,
	}, nil
}

// telnetConfig turns a target's login overrides into proxy/telnet's Config; nil keeps every
// default. Fields left empty are filled with the defaults by telnet.Dial.
func telnetConfig(l *access.TelnetLogin) *telnet.Config {
	if l.IsZero() {
		return nil
	}
	return &telnet.Config{
		Prompts: telnet.Prompts{User: l.UserPrompts, Password: l.PasswordPrompts,
			Shell: l.ShellPrompts, Failure: l.FailurePatterns},
		LoginTimeout: l.LoginTimeout,
	}
}

// authMethods turns a vaulted secret into SSH auth methods: the key first, then the password,
// also answered to keyboard-interactive password prompts (PAM targets ask that way).
func authMethods(s vault.Secret) ([]ssh.AuthMethod, error) {
	var methods []ssh.AuthMethod
	if len(s.PrivateKey) > 0 {
		signer, err := ssh.ParsePrivateKey(s.PrivateKey)
		if err != nil {
			return nil, errors.New("the vaulted private key does not parse (passphrase-protected keys are not supported)")
		}
		methods = append(methods, ssh.PublicKeys(signer))
	}
	if len(s.Password) > 0 {
		pw := string(s.Password)
		methods = append(methods, ssh.Password(pw),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range questions {
					if !echos[i] {
						answers[i] = pw
					}
				}
				return answers, nil
			}))
	}
	if len(methods) == 0 {
		return nil, errors.New("the vaulted credential is empty")
	}
	return methods, nil
}
