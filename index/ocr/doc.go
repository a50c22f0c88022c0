// Package ocr reads the text on the screens of graphical sessions (VNC, RDP) with tesseract, so an
// auditor's search finds what was shown, at the moment it appeared and at its place on the screen.
//
// # How data enters and leaves
//
// Screens enter as an *image.RGBA and the rectangles that changed, either from a session's lossy
// capture reader (Pool.Watch rebuilds the screen with a frame.Framebuffer and OCRs it once it has
// been still for a moment), from stored video (Pool.NewReplay: the same settle and interval rule
// on the session clock, for `vigil reindex --ocr`; Changed finds what differs between two decoded
// frames, above the codec's noise), or directly (Pool.Recognize, for tests).
// Text leaves as Texts: one recognised line each, with its rectangle in screen coordinates and
// tesseract's confidence; Watch wraps them in Results stamped with the session time of the frame.
// The caller turns those into index documents of kind screen-ocr.
//
// # Preprocessing (why it looks the way it does)
//
// Whole 1080p frames with tesseract's automatic layout read 62% of words right in 2.3 s; a screen
// cut into text blocks, each upscaled 2x with dark blocks inverted, reads over 95%, and a changed
// strip of a few lines costs a small fraction of that. So damage is grown to whole text lines (rows
// are scanned outwards until a uniform row, columns until a wide uniform gap), nearby regions are
// merged, each region is cut into blocks at uniform rows and columns (window borders and pane gaps
// are uniform), and each block is converted to grey, inverted when its mean is dark, upscaled 2x
// and handed to tesseract as one block of text (page segmentation mode 6).
//
// # Cost and isolation
//
// OCR runs in a bounded pool of workers, one reused tesseract client each, off the session's path:
// Pool.TrySubmit never blocks and counts what it dropped (Stats), and Watch drops rather than waits,
// so a session is never slowed. The process must be started with OMP_THREAD_LIMIT=1: tesseract's
// OpenMP runtime reads it once at load, and without it one frame took 18-24 s of two cores instead
// of 2.3 s. Start logs a warning when it is unset (ThreadLimitSet reports it).
//
// Tesseract reads `_` as a space; Score and the index treat them alike.
//
// ocr imports capture and capture/frame only.
package ocr
