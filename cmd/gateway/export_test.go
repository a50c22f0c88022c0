package gateway

import "time"

// SetTermPingEvery shortens the terminal websocket's keepalive for the external tests; it
// returns the previous interval.
func SetTermPingEvery(d time.Duration) time.Duration {
	return time.Duration(termPingEvery.Swap(int64(d)))
}
