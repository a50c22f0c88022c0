// Package term is the terminal screen model of a text session: a vt10x emulator fed with the
// session's output bytes, from which the recorder takes keyframes (an ANSI sequence that repaints
// the screen on a fresh terminal) and the indexer takes the visible text.
//
// Data enters through Screen.Write (output bytes, in order) and Screen.Resize, and leaves through
// Screen.Keyframe and Screen.Text. The raw byte stream stays the source of truth: the model is
// what a player or indexer needs to start mid-stream, not evidence in itself.
package term
