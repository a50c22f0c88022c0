package access

import "fmt"

// entryError names the user, target or grant an operation failed on and wraps the sentinel, so
// the CLI can print it as is ("unknown target \"web02\"") and callers can still use errors.Is.
type entryError struct {
	err    error // one of the sentinels
	kind   string
	name   string
	detail string
}

func (e *entryError) Error() string {
	switch e.err {
	case ErrNotFound:
		return fmt.Sprintf("unknown %s %q", e.kind, e.name)
	case ErrExists:
		return fmt.Sprintf("%s %q already exists", e.kind, e.name)
	case ErrFromConfig:
		return fmt.Sprintf("%s %q is defined in the configuration file; change or remove it there", e.kind, e.name)
	case ErrInUse:
		return fmt.Sprintf("%s %q %s", e.kind, e.name, e.detail)
	}
	return fmt.Sprintf("%s %q: %v", e.kind, e.name, e.err)
}

func (e *entryError) Unwrap() error { return e.err }

func notFound(kind, name string) error { return &entryError{err: ErrNotFound, kind: kind, name: name} }
func exists(kind, name string) error   { return &entryError{err: ErrExists, kind: kind, name: name} }
func fromConfig(kind, name string) error {
	return &entryError{err: ErrFromConfig, kind: kind, name: name}
}

func grantName(g Grant) string { return g.User + " -> " + g.Account + "@" + g.Target }
