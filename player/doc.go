// Package player serves recordings and live sessions to people: the web UI, its API, live shadows.
//
// It reads live sessions from capture rings, recordings through a small storage interface it
// declares, and hits from index. Not built yet.
package player
