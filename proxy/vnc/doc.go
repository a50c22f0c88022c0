// Package vnc is Vigil's RFB (VNC) client: it dials a target's VNC server, authenticates with the
// vaulted password, and keeps a decoded copy of the remote screen in an *image.RGBA.
//
// Data enters as the server's RFB byte stream (RFB 3.8, or 3.3/3.7 servers) and leaves as
// Updates: the rectangles of the framebuffer that changed, a new desktop size, a new cursor
// shape, a bell or clipboard text. The caller (the VNC session worker) reads the framebuffer
// after each Update, feeds the damage to the capture ring and the video encoder, and sends the
// user's input back with Key and Pointer.
//
// The client asks the server for 32-bit true colour with red in the lowest byte, so the pixels of
// the wire format are already the R, G, B bytes of image.RGBA: decoding is a copy plus setting
// alpha. Encodings: Raw, CopyRect, Hextile and ZRLE, with the DesktopSize and Cursor
// pseudo-encodings.
//
// The server is not trusted: every length is checked against the framebuffer and the limits of
// Options before anything is allocated, the zlib output of a ZRLE rectangle is bounded by what
// the rectangle can need, the desktop size is bounded (8192x8192 by default), and a read that
// stalls mid-message times out. A malformed message ends the connection with an error wrapping
// ErrProtocol or ErrTooLarge; the decoders are fuzzed for panics.
package vnc
