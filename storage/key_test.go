package storage

import (
	"errors"
	"path"
	"strings"
	"testing"
	"time"
)

// InvalidKeys are keys every backend must refuse; the contract suite reuses the same cases.
var invalidKeys = map[string]string{
	"empty":             "",
	"dot":               ".",
	"dotdot":            "..",
	"dotdot segment":    "a/../b",
	"dot segment":       "a/./b",
	"leading dotdot":    "../etc/passwd",
	"absolute":          "/etc/passwd",
	"trailing slash":    "a/b/",
	"empty segment":     "a//b",
	"backslash":         `a\b`,
	"backslash dotdot":  `..\..\x`,
	"nul":               "a\x00b",
	"space":             "a b",
	"newline":           "a\nb",
	"unicode":           "caf\u00e9",
	"invalid utf8":      "a\xff",
	"colon":             "c:x",
	"too long":          strings.Repeat("a/", MaxKeyLen/2) + "a",
	"segment too long":  strings.Repeat("a", MaxSegmentLen+1),
	"tilde (temp name)": "a~",
}

func TestValidateKey(t *testing.T) {
	valid := []string{
		"a",
		"recordings/2025/01/02/s-1/seg-00000001.vlog",
		"...",
		".hidden",
		"a..b",
		"A-Z_a-z.0-9",
		strings.Repeat("a", MaxSegmentLen),
		strings.Repeat("ab/", (MaxKeyLen-2)/3) + strings.Repeat("c", MaxKeyLen-3*((MaxKeyLen-2)/3)),
	}
	for _, k := range valid {
		if len(k) > MaxKeyLen {
			t.Fatalf("test bug: valid key of %d bytes", len(k))
		}
		if err := ValidateKey(k); err != nil {
			t.Errorf("ValidateKey(%.40q) = %v, want nil", k, err)
		}
	}
	for name, k := range invalidKeys {
		if err := ValidateKey(k); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%s: ValidateKey(%.40q) = %v, want ErrInvalidKey", name, k, err)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"a", true},
		{"a/", true},
		{"recordings/2025/0", true},
		{"a/.", true},  // matches a/.x
		{"a/..", true}, // matches a/...
		{".", true},
		{"/", false},
		{"/a", false},
		{"a//", false},
		{"../", false},
		{"a/../", false},
		{"./a", false},
		{`a\`, false},
		{"a\x00", false},
		{"caf\u00e9", false},
		{strings.Repeat("a", MaxKeyLen+1), false},
		{strings.Repeat("a", MaxSegmentLen+1), false},
	}
	for _, tt := range tests {
		err := ValidatePrefix(tt.prefix)
		if tt.ok && err != nil {
			t.Errorf("ValidatePrefix(%.40q) = %v, want nil", tt.prefix, err)
		}
		if !tt.ok && !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidatePrefix(%.40q) = %v, want ErrInvalidKey", tt.prefix, err)
		}
	}
}

func TestRecordingPrefix(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		name  string
		start time.Time
		id    string
		want  string // "" means an error wrapping ErrInvalidKey
	}{
		{"utc", time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC), "s1", "recordings/2025/03/07/s1/"},
		{"converted to utc", time.Date(2025, 1, 1, 8, 59, 0, 0, tokyo), "abc-DEF_9.x", "recordings/2024/12/31/abc-DEF_9.x/"},
		{"max id", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), strings.Repeat("x", MaxSessionIDLen), "recordings/2025/01/01/" + strings.Repeat("x", MaxSessionIDLen) + "/"},
		{"id too long", time.Now(), strings.Repeat("x", MaxSessionIDLen+1), ""},
		{"empty id", time.Now(), "", ""},
		{"slash in id", time.Now(), "a/b", ""},
		{"dotdot id", time.Now(), "..", ""},
		{"dot id", time.Now(), ".", ""},
		{"backslash id", time.Now(), `a\b`, ""},
		{"zero start", time.Time{}, "s1", ""},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "s1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RecordingPrefix(tt.start, tt.id)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidKey) {
					t.Fatalf("RecordingPrefix = %q, %v; want ErrInvalidKey", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("RecordingPrefix = %q, %v; want %q", got, err, tt.want)
			}
			if err := ValidatePrefix(got); err != nil {
				t.Errorf("prefix is not a valid List prefix: %v", err)
			}
			if err := ValidateKey(SegmentKey(got, 1)); err != nil {
				t.Errorf("segment key is not a valid key: %v", err)
			}
		})
	}
}

func TestSegmentKey(t *testing.T) {
	const p = "recordings/2025/03/07/s1/"
	tests := []struct {
		n    int
		want string
	}{
		{0, p + "seg-00000000.vlog"},
		{1, p + "seg-00000001.vlog"},
		{99999999, p + "seg-99999999.vlog"},
		{100000000, p + "seg-100000000.vlog"},
	}
	for _, tt := range tests {
		if got := SegmentKey(p, tt.n); got != tt.want {
			t.Errorf("SegmentKey(%d) = %q, want %q", tt.n, got, tt.want)
		}
		if n, ok := SegmentNumber(tt.want); !ok || n != tt.n {
			t.Errorf("SegmentNumber(%q) = %d, %v; want %d", tt.want, n, ok, tt.n)
		}
	}
	// Keys sort in segment order across the boundaries that matter in practice.
	for _, n := range []int{9, 99, 999999, 9999999} {
		if a, b := SegmentKey(p, n), SegmentKey(p, n+1); a >= b {
			t.Errorf("SegmentKey(%d) = %q sorts after SegmentKey(%d) = %q", n, a, n+1, b)
		}
	}
	for _, k := range []string{p + "manifest", p + "seg-1.vlog", p + "seg-0000000x.vlog", p + "seg-000000001.vlog", p + "seg-00000001.mp4", "seg-+0000001.vlog"} {
		if n, ok := SegmentNumber(k); ok {
			t.Errorf("SegmentNumber(%q) = %d, true; want false", k, n)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("SegmentKey(-1) did not panic")
		}
	}()
	SegmentKey(p, -1)
}

// FuzzValidateKey checks that an accepted key is already clean and relative, so no file system
// path built from it can leave its root, and that every prefix of a valid key is a valid prefix.
func FuzzValidateKey(f *testing.F) {
	for _, k := range invalidKeys {
		f.Add(k)
	}
	f.Add("recordings/2025/01/02/s/seg-00000001.vlog")
	f.Add("a/b/c")
	f.Fuzz(func(t *testing.T, key string) {
		if ValidateKey(key) != nil {
			return
		}
		if path.Clean(key) != key || path.IsAbs(key) || key == ".." || strings.HasPrefix(key, "../") ||
			strings.ContainsAny(key, "\\\x00:") {
			t.Fatalf("accepted key %q is not a clean relative path", key)
		}
		for i := 0; i <= len(key); i++ {
			if err := ValidatePrefix(key[:i]); err != nil {
				t.Fatalf("prefix %q of valid key %q refused: %v", key[:i], key, err)
			}
		}
	})
}
