//go:build !unix

package access

// lockFile is a no-op where flock is missing: writes stay atomic, but concurrent writers from two
// processes may lose one of their changes.
func lockFile(string) (func(), error) { return func() {}, nil }
