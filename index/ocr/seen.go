package ocr

import "image"

// maxSeen bounds the lines remembered per session: a few screenfuls.
const maxSeen = 4096

// seen remembers the lines last read at each place of a session's screen, so a region read again
// (the cursor blinked, one word changed) reports only the lines that are new there.
type seen struct {
	lines []Text
}

// fresh returns the texts not already seen at the same place, and remembers what is on screen
// now: lines seen before inside the regions just read are forgotten unless read again, so text
// that goes away and comes back is reported again, at the moment it came back.
func (s *seen) fresh(texts []Text, regions []image.Rectangle) []Text {
	var out []Text
	for _, t := range texts {
		if !s.has(t) {
			out = append(out, t)
		}
	}
	kept := s.lines[:0]
	for _, l := range s.lines {
		if !within(l.Rect, regions) {
			kept = append(kept, l)
		}
	}
	kept = append(kept, texts...)
	if len(kept) > maxSeen {
		kept = append(kept[:0], kept[len(kept)-maxSeen:]...)
	}
	s.lines = kept
	return out
}

func (s *seen) has(t Text) bool {
	for _, l := range s.lines {
		if l.Text == t.Text && samePlace(l.Rect, t.Rect) {
			return true
		}
	}
	return false
}

// samePlace reports whether two boxes of the same text are one line read twice: they overlap by
// at least half of the smaller (a re-read's box differs by a pixel or two).
func samePlace(a, b image.Rectangle) bool {
	in := a.Intersect(b)
	small := min(area(a), area(b))
	return small > 0 && 2*area(in) >= small
}

// within reports whether most of r lies in one of regions.
func within(r image.Rectangle, regions []image.Rectangle) bool {
	for _, g := range regions {
		if 2*area(r.Intersect(g)) >= area(r) {
			return true
		}
	}
	return false
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }
