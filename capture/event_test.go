package capture

import (
	"errors"
	"testing"
	"time"
)

func TestTypeString(t *testing.T) {
	tests := []struct {
		t    Type
		want string
	}{
		{TypeOutput, "output"}, {TypeInput, "input"}, {TypeResize, "resize"}, {TypeDamage, "damage"},
		{TypeMarker, "marker"}, {TypeRedacted, "redacted"}, {0, "type(0)"}, {7, "type(7)"}, {255, "type(255)"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(tt.t), got, tt.want)
		}
	}
}

func TestResizeRoundTrip(t *testing.T) {
	for _, c := range []struct{ cols, rows uint16 }{{80, 24}, {0, 0}, {65535, 1}, {1, 65535}, {0x1234, 0xabcd}} {
		p := ResizePayload(c.cols, c.rows)
		if len(p) != 4 {
			t.Fatalf("ResizePayload length %d", len(p))
		}
		cols, rows, err := ParseResize(p)
		if err != nil || cols != c.cols || rows != c.rows {
			t.Errorf("ParseResize(ResizePayload(%d, %d)) = %d, %d, %v", c.cols, c.rows, cols, rows, err)
		}
	}
	if got := ResizePayload(0x0102, 0x0304); string(got) != "\x01\x02\x03\x04" {
		t.Errorf("ResizePayload is not big-endian: % x", got)
	}
	var buf [4]byte
	if n := testing.AllocsPerRun(100, func() { _ = AppendResize(buf[:0], 80, 24) }); n != 0 {
		t.Errorf("AppendResize allocates %.0f times", n)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, n := range []int{0, 3, 5, 8} {
		if _, _, err := ParseResize(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseResize(%d bytes) error = %v, want ErrMalformed", n, err)
		}
		if _, err := ParseRedacted(make([]byte, n)); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseRedacted(%d bytes) error = %v, want ErrMalformed", n, err)
		}
	}
}

func FuzzParseResize(f *testing.F) {
	f.Add([]byte{0, 80, 0, 24})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, p []byte) {
		cols, rows, err := ParseResize(p)
		if (err == nil) != (len(p) == 4) {
			t.Fatalf("ParseResize(% x) error %v", p, err)
		}
		if err == nil && string(ResizePayload(cols, rows)) != string(p) {
			t.Fatalf("round trip of % x gave % x", p, ResizePayload(cols, rows))
		}
		c, err := ParseRedacted(p)
		if (err == nil) != (len(p) == 4) {
			t.Fatalf("ParseRedacted(% x) error %v", p, err)
		}
		if err == nil && c != uint32(p[0])<<24|uint32(p[1])<<16|uint32(p[2])<<8|uint32(p[3]) {
			t.Fatalf("ParseRedacted(% x) = %d", p, c)
		}
	})
}

// TestInitialDefaults: 0 means max(2*MaxRead, 64 KiB) capped at ArenaBytes, and min(1024, Records).
func TestInitialDefaults(t *testing.T) {
	tests := []struct {
		arena, maxRead, records int
		wantArena, wantRecords  int
	}{
		{4 << 20, 32 << 10, 64 << 10, 64 << 10, 1024},
		{4 << 20, 64 << 10, 16, 128 << 10, 16},
		{48 << 10, 16 << 10, 1024, 48 << 10, 1024},
		{64, 16, 2, 64, 2},
	}
	for _, tt := range tests {
		c := Config{ArenaBytes: tt.arena, MaxRead: tt.maxRead, Records: tt.records, StallTimeout: time.Second}
		if a, n := c.initialArena(), c.initialRecords(); a != tt.wantArena || n != tt.wantRecords {
			t.Errorf("%+v: initial arena %d, records %d; want %d, %d", c, a, n, tt.wantArena, tt.wantRecords)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	tests := []struct {
		name  string
		edit  func(*Config)
		valid bool
	}{
		{"default", func(*Config) {}, true},
		{"MaxRead zero", func(c *Config) { c.MaxRead = 0 }, false},
		{"MaxRead one", func(c *Config) { c.MaxRead, c.ArenaBytes = 1, 2 }, true},
		{"arena 2*MaxRead-1", func(c *Config) { c.ArenaBytes = 2*c.MaxRead - 1 }, false},
		{"arena 2*MaxRead", func(c *Config) { c.ArenaBytes = 2 * c.MaxRead }, true},
		{"arena 2*MaxRead+1", func(c *Config) { c.ArenaBytes = 2*c.MaxRead + 1 }, true},
		{"records 1", func(c *Config) { c.Records = 1 }, false},
		{"records 2", func(c *Config) { c.Records = 2 }, true},
		{"records max+1", func(c *Config) { c.Records = maxRecords + 1 }, false},
		{"stall zero", func(c *Config) { c.StallTimeout = 0 }, false},
		{"stall negative", func(c *Config) { c.StallTimeout = -time.Second }, false},
		{"initial arena negative", func(c *Config) { c.InitialArenaBytes = -1 }, false},
		{"initial arena 1", func(c *Config) { c.InitialArenaBytes = 1 }, true},
		{"initial arena max-1", func(c *Config) { c.InitialArenaBytes = c.ArenaBytes - 1 }, true},
		{"initial arena max", func(c *Config) { c.InitialArenaBytes = c.ArenaBytes }, true},
		{"initial arena max+1", func(c *Config) { c.InitialArenaBytes = c.ArenaBytes + 1 }, false},
		{"initial records 1", func(c *Config) { c.InitialRecords = 1 }, false},
		{"initial records 2", func(c *Config) { c.InitialRecords = 2 }, true},
		{"initial records max", func(c *Config) { c.InitialRecords = c.Records }, true},
		{"initial records max+1", func(c *Config) { c.InitialRecords = c.Records + 1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			if (err == nil) != tt.valid {
				t.Fatalf("Validate() = %v, want valid %v", err, tt.valid)
			}
			if _, nerr := New(c); (nerr == nil) != tt.valid {
				t.Fatalf("New() = %v, want valid %v", nerr, tt.valid)
			}
		})
	}
}
