//go:build race

package transfer

// raceEnabled trims the slowest re-chunkings (single bytes over megabytes) under -race, where
// they cost minutes; plain runs keep them.
const raceEnabled = true
