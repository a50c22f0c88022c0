package rdp

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/seed18fc72c3/vigil/proxy/rdp/internal/wire"
)

// Security names the RDP security protocols the client may use.
type Security string

const (
	SecurityNegotiate Security = "negotiate" // NLA, TLS or standard RDP security, as the server prefers
	SecurityNLA       Security = "nla"       // CredSSP: the credential is checked before any desktop
	SecurityTLS       Security = "tls"
	SecurityRDP       Security = "rdp" // standard RDP security: no certificate to pin
)

func (s Security) wire() (byte, error) {
	switch s {
	case SecurityNegotiate, "":
		return wire.SecNegotiate, nil
	case SecurityNLA:
		return wire.SecNLA, nil
	case SecurityTLS:
		return wire.SecTLS, nil
	case SecurityRDP:
		return wire.SecRDP, nil
	}
	return 0, fmt.Errorf("rdp: options: security %q: want negotiate, nla, tls or rdp", string(s))
}

// Options configures Dial. Zero fields take the defaults of DefaultOptions.
type Options struct {
	Host     string
	Port     int // 3389
	User     string
	Domain   string
	Password string // sent to the worker once, over its stdin
	Security Security
	// Fingerprint pins the server's certificate: the SHA-256 of its DER (32 bytes). Empty: trust
	// on first use; the caller records Session.Fingerprint and pins it next time.
	Fingerprint []byte
	// Width and Height are the desktop asked for (1024x768); the server may choose another.
	Width, Height int

	// Worker is the program to run and its arguments; default: this executable, "rdp-worker".
	Worker []string
	// WorkerEnv is added to the worker's environment, which otherwise holds only PATH, HOME and
	// WLOG_LEVEL: the gateway's own environment (its configuration) is not the worker's business.
	WorkerEnv []string
	// MemoryLimit is the worker's RLIMIT_AS in bytes (4 GiB). Address space, not memory: a worker
	// holding 42 MB resident maps about 1.7 GB (thread stacks, malloc arenas, the Go heap
	// reservation), so the limit sits above that and stops a runaway allocation, not normal use.
	MemoryLimit uint64
	// CPULimit is the worker's RLIMIT_CPU (8 h of CPU time): a guard against a server that keeps
	// it spinning, far above what a real session uses.
	CPULimit time.Duration
	// Watchdog kills a worker that sent nothing, heartbeats included, for this long (10 s).
	Watchdog time.Duration
	// LogonTimeout bounds the wait for the server's logon confirmation when the credential was
	// not checked by NLA (15 s).
	LogonTimeout time.Duration
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		Port: 3389, Security: SecurityNegotiate, Width: 1024, Height: 768,
		MemoryLimit: 4 << 30, CPULimit: 8 * time.Hour, Watchdog: 10 * time.Second, LogonTimeout: 15 * time.Second,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Port == 0 {
		o.Port = d.Port
	}
	if o.Security == "" {
		o.Security = d.Security
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = d.Width, d.Height
	}
	if o.MemoryLimit == 0 {
		o.MemoryLimit = d.MemoryLimit
	}
	if o.CPULimit == 0 {
		o.CPULimit = d.CPULimit
	}
	if o.Watchdog == 0 {
		o.Watchdog = d.Watchdog
	}
	if o.LogonTimeout == 0 {
		o.LogonTimeout = d.LogonTimeout
	}
	return o
}

// Validate names the first bad field.
func (o Options) Validate() error {
	switch {
	case o.Host == "":
		return fmt.Errorf("rdp: options: Host is empty")
	case o.Port < 1 || o.Port > 65535:
		return fmt.Errorf("rdp: options: Port %d", o.Port)
	case o.User == "":
		return fmt.Errorf("rdp: options: User is empty")
	case len(o.Fingerprint) != 0 && len(o.Fingerprint) != 32:
		return fmt.Errorf("rdp: options: Fingerprint has %d bytes, want 32 (SHA-256)", len(o.Fingerprint))
	case o.Width < 200 || o.Height < 200 || o.Width > 8192 || o.Height > 8192:
		return fmt.Errorf("rdp: options: Width/Height %dx%d out of 200..8192", o.Width, o.Height)
	}
	if len(o.Fingerprint) != 0 && o.Security == SecurityRDP {
		return fmt.Errorf("rdp: options: Fingerprint with security rdp, which has no certificate")
	}
	_, err := o.Security.wire()
	return err
}

// FormatFingerprint writes a fingerprint as "sha256:" and lower-case hex.
func FormatFingerprint(fp []byte) string { return "sha256:" + hex.EncodeToString(fp) }

// ParseFingerprint reads FormatFingerprint's form, or bare hex with or without colons.
func ParseFingerprint(s string) ([]byte, error) {
	h := strings.ReplaceAll(strings.TrimPrefix(strings.ToLower(s), "sha256:"), ":", "")
	fp, err := hex.DecodeString(h)
	if err != nil || len(fp) != 32 {
		return nil, fmt.Errorf("rdp: fingerprint %q: want 32 bytes of hex", s)
	}
	return fp, nil
}
