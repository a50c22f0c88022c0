package eventlog

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seed18fc72c3/vigil/encode/term"
)

var update = flag.Bool("update", false, "rewrite the fixture segments in fixtures/sessions")

const fixtureDir = "../../fixtures/sessions"

// fixtureSessions returns the fixture segments by file name, each with the records it holds.
// They are real-looking recordings: keyframes come from the screen model fed with the output.
func fixtureSessions(t testing.TB) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	split := func(name string, h Header, recs []Record, segLen time.Duration) {
		scr := term.NewScreen(h.Cols, h.Rows)
		for seg := 0; len(recs) > 0 || seg == 0; seg++ {
			h.Segment = seg
			h.Offset = time.Duration(seg) * segLen
			var part []Record
			for len(recs) > 0 && recs[0].Time < h.Offset+segLen {
				part = append(part, recs[0])
				recs = recs[1:]
			}
			files[fmt.Sprintf("%s.%d.vel", name, seg)] = encode(t, h, scr.Keyframe(), part)
			for _, r := range part {
				switch r.Type {
				case TypeOutput:
					scr.Write(r.Payload)
				case TypeResize:
					scr.Resize(int(r.Payload[0])<<8|int(r.Payload[1]), int(r.Payload[2])<<8|int(r.Payload[3]))
				}
			}
		}
	}
	shell := testHeader
	shell.SessionID = "fixture-shell"
	split("shell", shell, synthSession(7, 40*time.Second), 20*time.Second)

	edit := editorSession()
	vim := testHeader
	vim.SessionID = "fixture-vim"
	vim.Meta = map[string]string{"command": "vim /etc/hosts"}
	split("vim", vim, edit, time.Minute)
	return files
}

func editorSession() []Record {
	s := &synth{rng: newRand(9)}
	s.prompt()
	s.command("vim /etc/nginx/sites-enabled/default", s.editor)
	s.prompt()
	return s.recs
}

func TestFixtures(t *testing.T) {
	want := fixtureSessions(t)
	if *update {
		if err := os.MkdirAll(fixtureDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range want {
			if err := os.WriteFile(filepath.Join(fixtureDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Stored fixtures are the regression corpus of old writers: each must still decode to the
	// records the generator makes, whatever bytes today's compressor would choose.
	for name, b := range want {
		t.Run(name, func(t *testing.T) {
			stored, err := os.ReadFile(filepath.Join(fixtureDir, name))
			if err != nil {
				t.Fatalf("%v (run go test -run TestFixtures -update)", err)
			}
			hs, got, err := decode(stored)
			if err != nil {
				t.Fatal(err)
			}
			hw, wantRecs, err := decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if hs.SessionID != hw.SessionID || hs.Segment != hw.Segment || hs.Offset != hw.Offset {
				t.Fatalf("header %+v, want %+v", hs, hw)
			}
			sameRecords(t, got, wantRecs)
			if !bytes.HasPrefix(stored, []byte("vigil-eventlog 1\n")) {
				t.Fatal("no version line")
			}
		})
	}
}
