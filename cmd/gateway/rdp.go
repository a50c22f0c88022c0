package gateway

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/seed18fc72c3/vigil/access"
	"github.com/seed18fc72c3/vigil/proxy/desktop"
	"github.com/seed18fc72c3/vigil/proxy/rdp"
)

// RDPConfig is how Desktops dials RDP targets. The zero value runs this executable as the worker
// (`vigil rdp-worker`) with proxy/rdp's defaults.
type RDPConfig struct {
	// Worker and WorkerEnv override proxy/rdp's worker command (tests run their own binary).
	Worker    []string
	WorkerEnv []string
	// LogonTimeout bounds the wait for a logon confirmation from a server without NLA (xrdp shows
	// a wrong password as its login dialog, so silence is the only sign); 0: proxy/rdp's 15 s.
	LogonTimeout time.Duration
	// DialTimeout bounds the whole dial, worker start and logon included (default 40 s: more than
	// proxy/rdp's connect timeout plus the logon timeout, so their clearer errors come first).
	DialTimeout time.Duration
}

// presentedRE finds the fingerprint proxy/rdp names in a certificate refusal ("server presented
// sha256:..."). proxy/rdp exposes it only in the message; see dialRDP.
var presentedRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

// dialRDP dials an RDP target with the vaulted password and the certificate the access store
// enforces (pinned, or recorded on first use), at the size the front end asked for (0: proxy/rdp's
// default). On first use the certificate seen is recorded before the session starts; if it cannot
// be recorded, the session is refused (fail closed). Errors explain themselves to the user: a
// refused logon, an unconfirmed logon, a changed certificate (access.ErrCertificateMismatch naming
// both fingerprints), each wrapping proxy/rdp's sentinel.
func (d *Desktops) dialRDP(ctx context.Context, t access.Target, account string, pw []byte, w, h int) (desktop.Target, error) {
	pin, pinned, err := d.Access.Store.RDPCertificate(t.Name)
	if err != nil {
		return nil, err
	}
	sec := rdp.Security(t.RDP.SecurityMode())
	if sec == rdp.SecurityRDP {
		pin = nil // standard RDP security has no certificate to check
	}
	var domain string
	if t.RDP != nil {
		domain = t.RDP.Domain
	}
	o := rdp.Options{Host: t.Host, Port: t.Port, User: account, Domain: domain, Password: string(pw),
		Security: sec, Fingerprint: pin, Width: w, Height: h,
		Worker: d.RDP.Worker, WorkerEnv: d.RDP.WorkerEnv, LogonTimeout: d.RDP.LogonTimeout}
	if w > 0 && h > 0 {
		o.Width, o.Height = clampRDPSize(w, h)
	}
	timeout := d.RDP.DialTimeout
	if timeout <= 0 {
		timeout = 40 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, err := rdp.Dial(dctx, o)
	o.Password = ""
	switch {
	case errors.Is(err, rdp.ErrCertificate):
		presented, _ := access.ParseCertFingerprint(presentedRE.FindString(err.Error()))
		if cerr := d.Access.Store.CheckRDPCertificate(t.Name, presented); cerr != nil {
			return nil, fmt.Errorf("%w (%w)", cerr, rdp.ErrCertificate)
		}
		how := "recorded on first use"
		if pinned {
			how = "pinned"
		}
		return nil, fmt.Errorf("the certificate of %s is not the %s one: %w", t.Name, how, err)
	case errors.Is(err, rdp.ErrAuth):
		return nil, fmt.Errorf("%s refused the logon of %s (wrong password or account?): %w", t.Name, account, err)
	case errors.Is(err, rdp.ErrLogon):
		return nil, fmt.Errorf("%s did not confirm the logon of %s (wrong password, or a logon dialog waiting?): %w", t.Name, account, err)
	case err != nil:
		return nil, err
	}
	if sec != rdp.SecurityRDP {
		// Trust on first use: record what was seen, or refuse a certificate that changed between
		// the lookup above and now (another session recorded a different one meanwhile).
		if err := d.Access.Store.CheckRDPCertificate(t.Name, s.Fingerprint()); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// clampRDPSize keeps a viewport inside the sizes proxy/rdp accepts (200..8192).
func clampRDPSize(w, h int) (int, int) {
	return max(200, min(w, 8192)), max(200, min(h, 8192))
}
