package vault

import (
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret is the credential for one account on one target: a password, a private key (PEM or
// OpenSSH format), or both. Every way of printing it shows "[redacted]", so a Secret that reaches
// a log line, an error message or a JSON document by accident leaks nothing; code that needs the
// bytes reads the fields.
type Secret struct {
	Password   []byte
	PrivateKey []byte
}

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v).
func (Secret) GoString() string { return "vault.Secret{" + redacted + "}" }

// Format implements fmt.Formatter so that every verb, including %d and %x which would otherwise
// print the byte slices, shows "[redacted]".
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, redacted)
}

// MarshalJSON implements json.Marshaler: a secret never serialises its contents.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (YAML, TOML and map keys).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// IsZero reports whether s holds neither a password nor a key.
func (s Secret) IsZero() bool { return len(s.Password) == 0 && len(s.PrivateKey) == 0 }

// Wipe overwrites the secret's bytes with zeros. Callers that are done with a secret call it to
// shorten the time it spends in memory; Go's collector may still hold earlier copies.
func (s *Secret) Wipe() {
	clear(s.Password)
	clear(s.PrivateKey)
	s.Password, s.PrivateKey = nil, nil
}

// Ref names one entry of the vault.
type Ref struct {
	Target  string `json:"target"`
	Account string `json:"account"`
}

func (r Ref) String() string { return r.Account + "@" + r.Target }
