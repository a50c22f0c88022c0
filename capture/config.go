package capture

import (
	"fmt"
	"time"
)

// Config sizes a Ring. Zero values are invalid; start from DefaultConfig.
type Config struct {
	ArenaBytes   int           // bytes of payload memory per producer (default 4 MiB); at least 2*MaxRead
	Records      int           // event slots in the shared index (default 64Ki)
	MaxRead      int           // largest single ReadEvent, and largest Write payload (default 32 KiB)
	StallTimeout time.Duration // how long a producer waits for a lagging lossless reader (default 10 s)
}

// DefaultConfig returns the sizes used for a terminal session: 4 MiB per direction holds over a
// second of output at loopback SSH speed, which is the slack the recorder gets before it stalls
// the session.
func DefaultConfig() Config {
	return Config{
		ArenaBytes:   4 << 20,
		Records:      64 << 10,
		MaxRead:      32 << 10,
		StallTimeout: 10 * time.Second,
	}
}

// maxRecords bounds Records so the index (40 bytes a slot) stays well under a gigabyte.
const maxRecords = 1 << 24

// Validate reports the first bad field.
func (c Config) Validate() error {
	switch {
	case c.MaxRead < 1:
		return fmt.Errorf("capture: config: MaxRead %d: must be positive", c.MaxRead)
	case c.ArenaBytes < 2*c.MaxRead:
		// Half the arena must fit one read so a reservation that skips the arena's tail
		// can always succeed once readers have released everything.
		return fmt.Errorf("capture: config: ArenaBytes %d: must be at least 2*MaxRead (%d)", c.ArenaBytes, 2*c.MaxRead)
	case c.Records < 2 || c.Records > maxRecords:
		return fmt.Errorf("capture: config: Records %d: must be in [2, %d]", c.Records, maxRecords)
	case c.StallTimeout <= 0:
		return fmt.Errorf("capture: config: StallTimeout %v: must be positive", c.StallTimeout)
	}
	return nil
}
