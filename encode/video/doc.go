// Package video records graphical sessions (VNC, RDP) as H.264 video in fragmented MP4 segments,
// beside an event log of the user's input on the same clock (FORMAT.md).
//
// Data enters as capture.Events from a lossless reader of the session's ring: damage (package
// capture/frame) rebuilds the screen in a frame.Framebuffer, and each Frame event marks a consistent
// screen that is encoded, at most Options.MaxFPS times a second, by libx264 through go-astiav
// (Debian's FFmpeg 5.1). Input, redaction and marker events go to the companion event-log segment.
// Data leaves as finished segments handed, in index order, to an encode.SegmentSink.
//
// Concat joins a recording's video segments into one MP4 for export; FrameAt decodes the frame
// shown at a given time, and Frames decodes a segment once and visits every frame in order with its
// session time (`vigil reindex --ocr` reads stored video with it).
//
// It links FFmpeg 5.1 through go-astiav and cgo (Debian: libavcodec-dev, libavformat-dev,
// libavutil-dev, libswscale-dev, with libx264 in libavcodec59); the tests also run Debian's
// ffprobe (package ffmpeg). FFmpeg logs to stderr at its own level: a program should call
// astiav.SetLogLevel(astiav.LogLevelError) once, since libx264 otherwise prints its settings each
// time an encoder opens.
//
// The reader goroutine only applies damage and copies the changed pixels; conversion to YUV and
// encoding run on a goroutine the Recorder owns, behind a bounded handoff, so the ring is held back
// only when the encoder is slower than the session for long enough to fill the handoff.
package video
