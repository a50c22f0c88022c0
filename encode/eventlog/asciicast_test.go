package eventlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAsciicastFormat(t *testing.T) {
	recs := []Record{
		{Time: 1500 * time.Millisecond, Type: TypeOutput, Payload: []byte("a\"\\\x1b[1m\xe2\x9c")},
		{Time: 2 * time.Second, Type: TypeInput, Payload: []byte("q")},
		{Time: 2 * time.Second, Type: TypeOutput, Payload: []byte("\x93\r\n\xff")},
		{Time: 3 * time.Second, Type: TypeResize, Payload: []byte{0, 100, 0, 30}},
		{Time: 4 * time.Second, Type: TypeMarker, Payload: []byte("m")},
	}
	seg := encode(t, testHeader, []byte("KEYFRAME"), recs)
	for _, input := range []bool{false, true} {
		var out bytes.Buffer
		if err := (Asciicast{Input: input}).Export(&out, bytes.NewReader(seg)); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		var hdr struct {
			Version, Width, Height int
			Timestamp              int64
			Env                    map[string]string
		}
		if err := json.Unmarshal([]byte(lines[0]), &hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Version != 2 || hdr.Width != 80 || hdr.Height != 24 || hdr.Timestamp != testHeader.Start.Unix() || hdr.Env["TERM"] == "" {
			t.Fatalf("header %s", lines[0])
		}
		want := []string{
			`[1.500000, "o", "a\"\\\u001b[1m"]`,
			`[2.000000, "i", "q"]`,
			`[2.000000, "o", "✓\r\n` + "\ufffd" + `"]`,
			`[3.000000, "r", "100x30"]`,
		}
		if !input {
			want = append(want[:1], want[2:]...)
		}
		if got := lines[1:]; strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("input=%v events:\n%s\nwant:\n%s", input, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

func TestAsciicastMidRecording(t *testing.T) {
	files := fixtureSessions(t)
	var out bytes.Buffer
	if err := ExportAsciicast(&out, bytes.NewReader(files["shell.1.vel"]), bytes.NewReader(files["shell.2.vel"])); err != nil {
		t.Fatal(err)
	}
	r, _ := NewReader(bytes.NewReader(files["shell.1.vel"]))
	kf, _ := r.Next()
	first := strings.Split(out.String(), "\n")[1]
	var ev []any
	if err := json.Unmarshal([]byte(first), &ev); err != nil || ev[0] != 0.0 || ev[2] != string(kf.Payload) {
		t.Fatalf("first event %s, want the keyframe at 0", first)
	}
	err := ExportAsciicast(&out, bytes.NewReader(files["shell.0.vel"]), bytes.NewReader(files["shell.2.vel"]))
	if !errors.Is(err, ErrSequence) {
		t.Fatalf("gap in segments: %v, want ErrSequence", err)
	}
}

// TestAsciicastWithAsciinema gives the export to the real asciinema and requires it to print
// exactly the recorded output.
func TestAsciicastWithAsciinema(t *testing.T) {
	if _, err := exec.LookPath("asciinema"); err != nil {
		t.Skip("asciinema not installed (apt-get install asciinema)")
	}
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("script not installed (bsdutils)")
	}
	files := fixtureSessions(t)
	var segs []*bytes.Reader
	var want bytes.Buffer
	for _, name := range []string{"shell.0.vel", "shell.1.vel", "shell.2.vel"} {
		segs = append(segs, bytes.NewReader(files[name]))
		_, recs, err := decode(files[name])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Type == TypeOutput {
				want.Write(r.Payload)
			}
		}
	}
	var cast bytes.Buffer
	if err := ExportAsciicast(&cast, segs[0], segs[1], segs[2]); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "session.cast")
	if err := os.WriteFile(path, cast.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("script", "-qec", "asciinema cat "+path, "/dev/null")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	got, err := cmd.Output()
	if err != nil {
		t.Fatalf("asciinema cat: %v\n%s", err, got)
	}
	// asciinema cat puts the pty in raw mode, so bytes pass untouched; a pty with output
	// processing on would turn each \n into \r\n, which the second form allows for, exactly.
	onlcr := bytes.ReplaceAll(want.Bytes(), []byte("\n"), []byte("\r\n"))
	if !bytes.Equal(got, want.Bytes()) && !bytes.Equal(got, onlcr) {
		t.Fatalf("asciinema printed %d bytes, recorded output is %d\nfirst difference at %d", len(got), want.Len(), firstDiff(got, want.Bytes()))
	}
	if want.Len() < 1000 {
		t.Fatalf("only %d bytes of output: the fixture is too small to prove anything", want.Len())
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
