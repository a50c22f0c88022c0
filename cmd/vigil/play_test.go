package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "fixtures", "sessions", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return p
}

func TestPlayAndExportSegmentFile(t *testing.T) {
	data := t.TempDir()
	seg := fixture(t, "shell.0.vel")
	played := mustVigil(t, data, "", "play", seg, "--speed", "1000", "--skip-idle", "--max-idle", "1ms")
	if len(played) == 0 {
		t.Fatal("play printed nothing")
	}
	cast := mustVigil(t, data, "", "export", "--format", "asciicast", seg)
	first := strings.SplitN(cast, "\n", 2)[0]
	if !strings.Contains(first, `"version": 2`) && !strings.Contains(first, `"version":2`) {
		t.Errorf("export header %q is not asciicast v2", first)
	}
}

func TestRecordingErrorsAreClear(t *testing.T) {
	data := t.TempDir()
	bad := filepath.Join(t.TempDir(), "bad.vel")
	b, err := os.ReadFile(fixture(t, "shell.0.vel"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bad, b[:len(b)/2], 0o600)
	garbage := filepath.Join(t.TempDir(), "garbage.vel")
	os.WriteFile(garbage, []byte("not a recording at all\n"), 0o600)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"truncated segment", []string{"play", bad, "--speed", "1000"}, "truncated"},
		{"not a recording", []string{"export", "--format", "asciicast", garbage}, "segment 0"},
		{"unknown session", []string{"play", "nosuchsession"}, "no such recording"},
		{"bad speed", []string{"play", bad, "--speed", "0"}, "--speed"},
		{"unknown format", []string{"export", "--format", "mp4", bad}, "--format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := vigil(t, data, "", tt.args...)
			if err == nil {
				t.Fatalf("vigil %v succeeded:\n%s", tt.args, out)
			}
			if !strings.Contains(out, tt.want) || strings.Count(strings.TrimSpace(out), "\n") > 3 {
				t.Errorf("vigil %v: %q, want a short error mentioning %q", tt.args, out, tt.want)
			}
		})
	}
}
