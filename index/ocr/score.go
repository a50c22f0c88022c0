package ocr

import (
	"strings"
	"unicode"
)

// Words splits s into lower-case words the way search sees them: runs of letters and digits,
// with `_` and every other punctuation mark a separator (tesseract reads `_` as a space, and the
// index's analyzer treats `_ . : '` as spaces too).
func Words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Score counts how many of truth's words were read: each word of truth is found if got holds it
// (as many times as truth does). It returns found and the number of words in truth.
func Score(truth, got string) (found, total int) {
	have := map[string]int{}
	for _, w := range Words(got) {
		have[w]++
	}
	for _, w := range Words(truth) {
		total++
		if have[w] > 0 {
			have[w]--
			found++
		}
	}
	return found, total
}

// Missing returns truth's words that got lacks (for reports when tuning).
func Missing(truth, got string) []string {
	have := map[string]int{}
	for _, w := range Words(got) {
		have[w]++
	}
	var out []string
	for _, w := range Words(truth) {
		if have[w] > 0 {
			have[w]--
			continue
		}
		out = append(out, w)
	}
	return out
}
