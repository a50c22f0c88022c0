// Package frame is the event model of graphical sessions (VNC, RDP): how a remote screen's changes
// and the user's keyboard and mouse travel through a session's capture ring, and a Framebuffer that
// rebuilds the screen from those events.
//
// # Damage (capture.TypeDamage payloads)
//
// All integers are big-endian. The first byte is the kind:
//
//	1 Pixels  x u16, y u16, w u16, h u16, then w*h*4 bytes: rows top to bottom, each pixel R,G,B,X
//	          (the layout of image.RGBA; the fourth byte is ignored and read as opaque)
//	2 Copy    x u16, y u16, w u16, h u16 (destination), sx u16, sy u16 (source's top-left)
//	3 Frame   no body: the update is complete and the screen is consistent; encoders and viewers
//	          render here, never in the middle of an update
//	4 Size    w u16, h u16: the desktop has a new size; the screen is cleared to black
//	5 Cursor  hotspot x u16, y u16, w u16, h u16, then w*h*4 bytes RGBA (alpha is the mask)
//
// A rectangle whose pixels do not fit one ring event is sent as several Pixels events of whole rows
// (Emit does this). Every rectangle must lie inside the current desktop: Framebuffer.Apply refuses
// one that does not with ErrMalformed, so a hostile or buggy producer cannot make a reader write out
// of bounds or allocate without limit.
//
// # Input (capture.TypeInput payloads, from the user; capture.TypeOutput for the target's clipboard)
//
//	1 Key        down u8 (0 or 1), keysym u32 (X11 keysym, as RFB sends it), scancode u16 (PC/AT set 1
//	             as RDP sends it; bit 0x100 marks an extended key; 0 when unknown)
//	2 Pointer    x u16, y u16, buttons u8 (RFB's mask: 1 left, 2 middle, 4 right, 8 wheel up,
//	             16 wheel down, 32 wheel left, 64 wheel right)
//	3 Clipboard  UTF-8 text
//
// Keys that a session's policy withholds (printable keys, by default) are not written as Key events
// at all: the producer writes a capture.TypeRedacted event with the count instead, as text sessions
// do for password prompts.
//
// The numbers are part of the recording format: never renumber.
package frame
