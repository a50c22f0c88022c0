// Package encode turns the events of a session's capture ring into recordings: the event log for
// text sessions (package encode/eventlog), and video for graphical ones (package encode/video,
// which writes its input events as event-log segments beside the video).
//
// Data enters as capture.Events from a lossless ring reader and leaves as sealed-ready segment bytes
// handed to a sink that the caller provides (cmd wires storage in). encode imports only capture.
package encode
