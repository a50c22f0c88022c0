package transfer

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The test binary doubles as a recording tee between a real client (sftp, scp) and the program
// that plays the remote end (sftp-server, scp -t/-f). It records every chunk each way, before
// forwarding it, as the gateway would feed an Observer; the tests replay the recordings.
const (
	envRecord = "TRANSFER_TEE_RECORD"
	envTee    = "TRANSFER_TEE"
)

// Record kinds in a recording: a command (the remote scp command line), client bytes, server bytes.
const (
	recCommand = 'X'
	recClient  = 'C'
	recServer  = 'S'
)

type record struct {
	kind byte
	data []byte
}

func TestMain(m *testing.M) {
	if rec := os.Getenv(envRecord); rec != "" {
		if err := tee(rec, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "tee:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tee runs argv with its stdin and stdout piped through, recording both directions to path.
func tee(path string, argv []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	out := bufio.NewWriter(f)
	var mu sync.Mutex
	write := func(kind byte, p []byte) {
		mu.Lock()
		defer mu.Unlock()
		var hdr [5]byte
		hdr[0] = kind
		binary.BigEndian.PutUint32(hdr[1:], uint32(len(p)))
		out.Write(hdr[:])
		out.Write(p)
	}
	if len(argv) == 3 && argv[0] == "sh" && argv[1] == "-c" {
		write(recCommand, []byte(argv[2]))
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		pump(os.Stdin, stdin, func(p []byte) { write(recClient, p) })
		stdin.Close()
	}()
	pump(stdout, os.Stdout, func(p []byte) { write(recServer, p) })
	werr := cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	if err := out.Flush(); err != nil {
		return err
	}
	return werr
}

func pump(r io.Reader, w io.Writer, record func([]byte)) {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			record(buf[:n])
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func readRecording(t testing.TB, path string) []record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read recording: %v", err)
	}
	var recs []record
	for len(b) >= 5 {
		n := binary.BigEndian.Uint32(b[1:])
		recs = append(recs, record{kind: b[0], data: b[5 : 5+n]})
		b = b[5+n:]
	}
	return recs
}

// run runs a client program with the tee in place and returns what it recorded.
func run(t *testing.T, dir string, name string, args ...string) []record {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(t.TempDir(), "rec")
	cmd := newCmd(dir, name, args...)
	cmd.Env = append(os.Environ(), envRecord+"="+rec, envTee+"="+self)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return readRecording(t, rec)
}

// collect feeds recs to a new Observer, cutting every chunk into pieces of at most cut bytes
// (0: as recorded), and returns the events it emitted.
func collect(newObs func(emit func(Event)) Observer, recs []record, cut int) []Event {
	var got []Event
	obs := newObs(func(e Event) { got = append(got, e) })
	for _, r := range recs {
		fn := obs.FromClient
		switch r.kind {
		case recServer:
			fn = obs.FromServer
		case recCommand:
			continue
		}
		d := r.data
		for cut > 0 && len(d) > cut {
			fn(d[:cut])
			d = d[cut:]
		}
		fn(d)
	}
	return got
}

func needTool(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing (apt-get install openssh-client openssh-sftp-server)", path)
		}
		t.Skipf("%s missing (apt-get install openssh-client openssh-sftp-server)", path)
	}
}

// testFile is a local file with known content.
type testFile struct {
	name string
	size int
	sum  string
}

var testSizes = []struct {
	name string
	size int
}{{"empty", 0}, {"one", 1}, {"window", 32*1024 + 1}, {"big", 3 << 20}}

// makeFiles writes one random file per test size into dir.
func makeFiles(t *testing.T, dir string) []testFile {
	t.Helper()
	var files []testFile
	for _, s := range testSizes {
		b := make([]byte, s.size)
		rand.Read(b)
		if err := os.WriteFile(filepath.Join(dir, s.name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		files = append(files, testFile{name: s.name, size: s.size, sum: hex.EncodeToString(sum[:])})
	}
	return files
}

// checkRechunked replays recs at several random and boundary chunk sizes and requires the same
// events as the recorded chunking gave.
func checkRechunked(t *testing.T, newObs func(emit func(Event)) Observer, recs []record, want []Event) {
	t.Helper()
	cuts := []int{1, 3, 4, 5, 8, 9, 13, 4096, 32*1024 + 13}
	for i := 0; i < 3; i++ {
		cuts = append(cuts, 1+mrand.IntN(70000))
	}
	for _, cut := range cuts {
		if raceEnabled && cut < 8 {
			continue
		}
		if err := sameEvents(collect(newObs, recs, cut), want); err != nil {
			t.Fatalf("chunks of %d: %v", cut, err)
		}
	}
}

func sameEvents(got, want []Event) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d events, want %d: %+v", len(got), len(want), got)
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	return nil
}

var errNoEvent = errors.New("no such event")

func findEvent(events []Event, op, path string) (Event, error) {
	for _, e := range events {
		if e.Op == op && e.Path == path {
			return e, nil
		}
	}
	return Event{}, fmt.Errorf("%s %s: %w", op, path, errNoEvent)
}

func newCmd(dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	return cmd
}
