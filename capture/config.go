package capture

import (
	"fmt"
	"time"
)

// Config sizes a Ring. Zero values of the first four fields are invalid; start from DefaultConfig.
//
// Memory grows on demand: a producer's arena starts at InitialArenaBytes and doubles, up to
// ArenaBytes, when a reservation would otherwise wait for lossless readers; the shared index starts
// at InitialRecords slots and doubles, up to Records, when lossless readers hold every slot. Only at
// the maximum does a producer wait (and stall after StallTimeout). An interactive session that moves
// a few KiB thus holds a few hundred KiB, not the maximum, while a flood with a lagging recorder
// still gets the full slack.
type Config struct {
	ArenaBytes   int           // most bytes of payload memory per producer (default 4 MiB); at least 2*MaxRead
	Records      int           // most event slots in the shared index (default 64Ki)
	MaxRead      int           // largest single ReadEvent, and largest Write payload (default 32 KiB)
	StallTimeout time.Duration // how long a producer waits for a lagging lossless reader (default 10 s)

	// InitialArenaBytes is each producer's arena at first, in [1, ArenaBytes]; 0 means
	// max(2*MaxRead, 64 KiB), capped at ArenaBytes.
	InitialArenaBytes int
	// InitialRecords is the index at first, in [2, Records]; 0 means min(1024, Records).
	InitialRecords int
}

// DefaultConfig returns the sizes used for a terminal session: up to 4 MiB per direction holds over
// a second of output at loopback SSH speed, which is the slack the recorder gets before it stalls
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

// Defaults for the initial sizes. 64 KiB holds a typical interactive burst (a screenful redrawn a
// few times) while the recorder catches up; 1024 slots (40 KiB) likewise for events.
const (
	defaultInitialArena   = 64 << 10
	defaultInitialRecords = 1024
)

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
	case c.InitialArenaBytes < 0 || c.InitialArenaBytes > c.ArenaBytes:
		return fmt.Errorf("capture: config: InitialArenaBytes %d: must be 0 or in [1, ArenaBytes %d]", c.InitialArenaBytes, c.ArenaBytes)
	case c.InitialRecords != 0 && (c.InitialRecords < 2 || c.InitialRecords > c.Records):
		return fmt.Errorf("capture: config: InitialRecords %d: must be 0 or in [2, Records %d]", c.InitialRecords, c.Records)
	}
	return nil
}

// initialArena resolves InitialArenaBytes's default.
func (c Config) initialArena() int {
	if c.InitialArenaBytes > 0 {
		return c.InitialArenaBytes
	}
	return min(max(2*c.MaxRead, defaultInitialArena), c.ArenaBytes)
}

// initialRecords resolves InitialRecords's default.
func (c Config) initialRecords() int {
	if c.InitialRecords > 0 {
		return c.InitialRecords
	}
	return min(defaultInitialRecords, c.Records)
}
