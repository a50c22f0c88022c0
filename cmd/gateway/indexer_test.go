package gateway_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/encode"
	"github.com/seed18fc72c3/vigil/index"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/storage/file"
)

// lockedBuffer collects a session's output for the test to wait on.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestIndexRealSession records a shell session through the real gateway to a real sshd, indexed
// live, then indexes the stored recording again, and checks both indexes: every command typed is
// found as a command at the time its Enter was pressed (within 1 s), its output is found as
// screen text, and the password typed at sudo's no-echo prompt is found nowhere.
func TestIndexRealSession(t *testing.T) {
	d := startBenchSSHD(t)
	backend, err := file.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	keys, err := nodekeys.Ensure(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	store := gateway.NewRecordings(backend, keys, nil)
	liveDir := t.TempDir()
	ix, err := index.Open(liveDir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	log := slog.New(slog.DiscardHandler)
	irec := &gateway.IndexingRecorder{
		Recorder: &gateway.Recorder{Store: store, Options: encode.DefaultOptions(), Log: log},
		Index:    ix, Store: store, Log: log,
	}
	cfg := proxyssh.DefaultConfig()
	cfg.HostSigner = newHostSigner(t)
	cfg.Auth = benchAuth(d)
	cfg.Policy = benchPolicy(d)
	cfg.Recorder = irec
	cfg.Logger = log
	srv, err := proxyssh.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-served }()

	client, err := ssh.Dial("tcp", ln.Addr().String(), &ssh.ClientConfig{
		User: benchLogin, Auth: []ssh.AuthMethod{ssh.PublicKeys(d.Key)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	sess.Stdout, sess.Stderr = &out, &out
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm", 40, 120, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	waitFor := func(what, s string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second) // a hang guard, not a timing target
		for !strings.Contains(out.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s (%q); output:\n%s", what, s, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// typeLine types a line as a person does: the keys, then Enter once the echo is on screen.
	typeLine := func(line, echo string) time.Time {
		t.Helper()
		for _, c := range line {
			stdin.Write([]byte(string(c)))
			time.Sleep(3 * time.Millisecond)
		}
		if echo != "" {
			waitFor("the echo of "+line, echo)
		}
		time.Sleep(50 * time.Millisecond)
		at := time.Now()
		stdin.Write([]byte("\r"))
		return at
	}
	waitFor("a prompt", "$ ")
	type command struct {
		text, query, output string
		at                  time.Time
	}
	cmds := []*command{
		{text: "echo alpha-$((6*7))", query: `"echo alpha"`, output: `"alpha 42"`},
		{text: "printf 'bravo_%s\\n' one two", query: `"printf bravo"`, output: "bravo_two"},
		{text: "seq 1000 1400", query: `"seq 1000 1400"`, output: `1237`},
	}
	for _, c := range cmds {
		c.at = typeLine(c.text, c.text)
		waitFor("the prompt after "+c.text, "$ ")
		time.Sleep(700 * time.Millisecond) // let the screen settle between commands, as people do
	}
	waitFor("1400", "1400")
	sudo := &command{text: "sudo -k; sudo -p '[sudo] password for vigiltest: ' id -u", query: `"sudo -k"`}
	sudo.at = typeLine(sudo.text, "id -u")
	// Not the echoed command line, which holds the same words after a quote: the prompt itself,
	// at the start of a line, once sudo has turned echo off.
	waitFor("the sudo prompt", "\r[sudo] password for vigiltest: ")
	stdin.Write([]byte(d.Password)) // at once, as a paste: it must not reach the index either way
	time.Sleep(50 * time.Millisecond)
	stdin.Write([]byte("\r"))
	// Whether sudo accepts it depends on the machine's fixture state, not on the index: what
	// matters here is that a secret was typed at a no-echo prompt.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "\r\n0\r\n") {
		if strings.Contains(out.String(), "try again") {
			t.Log("sudo refused the fixture's password; the secret was typed at a no-echo prompt all the same")
			stdin.Write([]byte{3}) // Ctrl-C: give up the second prompt
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer from sudo; output:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	typeLine("exit", "exit")
	if err := sess.Wait(); err != nil {
		t.Logf("shell: %v", err)
	}
	client.Close() // the gateway ends the session when the client's connection goes
	cmds = append(cmds, sudo)

	recs := waitRecordings(t, store, 1)
	id := recs[0].ID
	// The live feed closes after the recording; its last chunks arrive a moment after the summary.
	deadline = time.Now().Add(30 * time.Second)
	for {
		res, err := ix.Search(context.Background(), index.Query{Text: "exit", Kind: index.KindCommand})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the live index never got the session's last command")
		}
		time.Sleep(50 * time.Millisecond)
	}
	irec.Wait()

	reDir := t.TempDir()
	rix, err := index.Open(reDir)
	if err != nil {
		t.Fatal(err)
	}
	defer rix.Close()
	n, err := gateway.ReindexSession(context.Background(), rix, store, id)
	if err != nil || n == 0 {
		t.Fatalf("reindex: %d lines, %v", n, err)
	}

	for name, x := range map[string]*index.Index{"live": ix, "reindexed": rix} {
		t.Run(name, func(t *testing.T) {
			for _, c := range cmds {
				res, err := x.Search(context.Background(), index.Query{Text: c.query, Kind: index.KindCommand, Session: id})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Hits) != 1 {
					t.Errorf("command %q: %d hits, want 1: %+v", c.text, len(res.Hits), res.Hits)
					continue
				}
				h := res.Hits[0]
				if h.Line != c.text {
					t.Errorf("command %q indexed as %q", c.text, h.Line)
				}
				if diff := h.Time.Sub(c.at).Abs(); diff > time.Second {
					t.Errorf("command %q at %v (offset %v), typed at %v: %v apart", c.text, h.Time, h.Offset, c.at, diff)
				}
				if c.output == "" {
					continue
				}
				res, err = x.Search(context.Background(), index.Query{Text: c.output, Kind: index.KindScreen, Session: id})
				if err != nil || len(res.Hits) == 0 {
					t.Errorf("output %s of %q not found as screen text: %v", c.output, c.text, err)
				}
			}
			// Every line of seq's output was on screen, though 400 lines scrolled past 40 rows.
			res, err := x.Search(context.Background(), index.Query{Text: "1*", Kind: index.KindScreen, Session: id, Limit: 2000})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, h := range res.Hits {
				seen[h.Line] = true
			}
			for i := 1000; i <= 1400; i++ {
				if s := strconvItoa(i); !seen[s] {
					t.Errorf("seq output line %s not indexed", s)
					break
				}
			}
			// The password: no hit, no line holding it, no index file holding it.
			res, err = x.Search(context.Background(), index.Query{Text: d.Password})
			if err != nil || len(res.Hits) != 0 {
				t.Errorf("search for the password: %v, %d hits", err, len(res.Hits))
			}
			all, err := x.Search(context.Background(), index.Query{Session: id, Limit: 10000})
			if err != nil || len(all.Hits) == 0 {
				t.Fatalf("all documents: %v", err)
			}
			if all.Documents == 0 {
				t.Fatal("no documents")
			}
			dir := liveDir
			if name == "reindexed" {
				dir = reDir
			}
			filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					b, _ := os.ReadFile(path)
					if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(d.Password))) {
						t.Errorf("the password appears in %s", path)
					}
				}
				return nil
			})
		})
	}
}

func strconvItoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}
