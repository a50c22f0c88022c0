package encode

import (
	"encoding/json"
	"strings"

	"github.com/seed18fc72c3/vigil/capture"
)

// Channels tells which channels of a session carry a terminal (a shell, a command) and which carry
// other bytes - an sftp subsystem, an scp transfer, a forwarded port - that no screen model may
// read: fed to a terminal emulator they would make keyframes and indexed screen text of file
// contents, and their input would read as typed commands. The proxy says what each channel is in
// the marker it writes when the channel starts ({"kind":"subsystem"|"channel"|"exec"|"shell"}).
// The zero value is ready to use.
type Channels struct {
	other map[uint16]bool
}

// Terminal observes ev and reports whether it belongs to a terminal channel. Markers are read
// here; a channel no marker has described yet counts as a terminal.
func (c *Channels) Terminal(ev capture.Event) bool {
	if ev.Type == capture.TypeMarker {
		var m struct {
			Kind    string `json:"kind"`
			Command string `json:"command"`
		}
		if json.Unmarshal(ev.Payload, &m) == nil {
			switch {
			case m.Kind == "subsystem" || m.Kind == "channel" ||
				(m.Kind == "exec" && (m.Command == "scp" || strings.HasPrefix(m.Command, "scp "))):
				if c.other == nil {
					c.other = map[uint16]bool{}
				}
				c.other[ev.Channel] = true
			case m.Kind == "shell" || m.Kind == "exec":
				delete(c.other, ev.Channel) // a channel id reused by a new channel
			}
		}
	}
	return !c.other[ev.Channel]
}
