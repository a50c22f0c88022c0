package transfer

import (
	"errors"
	"fmt"
)

// Event describes one file transfer or file operation seen in a session.
type Event struct {
	Protocol string // "scp" or "sftp"
	// Op is "upload" (client to target), "download", "remove" (files and, for SFTP RMDIR,
	// directories), "rename" or "mkdir".
	Op   string
	Path string // the path on the target, as the client named it
	// Target is the new path of a rename; empty otherwise.
	Target string
	Size   int64 // bytes of file data that crossed the gateway
	// SHA256 is the hex SHA-256 of the file's bytes. It is empty when the transfer was not one
	// whole sequential pass from offset 0 to the end (SFTP seeks, a resumed or partial read, a
	// transfer that failed).
	SHA256 string
	// Err reports what went wrong: the target refused or failed the operation ("failed: ...",
	// "rejected: ..."), or the observer could not follow the stream ("unparsable stream: ...").
	Err string
}

// Observer watches both directions of one SSH channel. FromClient and FromServer take chunks split
// anywhere and may be called from two goroutines at once; each must see a chunk before it is
// forwarded, so that a reply is never observed before the request it answers. Neither modifies or
// retains p, blocks, or panics. emit is called synchronously from within them and must not call
// back into the Observer.
type Observer interface {
	FromClient(p []byte)
	FromServer(p []byte)
}

// ErrNotSCP is returned by NewSCP for an exec command that is not a legacy scp transfer.
var ErrNotSCP = errors.New("not an scp transfer command")

// unparsable is the Err text of an Event after which an Observer stops observing.
func unparsable(format string, args ...any) string {
	return "unparsable stream: " + fmt.Sprintf(format, args...)
}
