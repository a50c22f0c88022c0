//go:build unix

package access

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on path (created 0600), so that the gateway recording a
// host key and the CLI adding a user do not overwrite each other's changes to the store.
func lockFile(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
