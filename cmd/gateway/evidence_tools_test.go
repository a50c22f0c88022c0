package gateway_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/seed18fc72c3/vigil/cmd/gateway"
)

// extract writes bundle b into a new folder with stock unzip, as the README tells the recipient.
func extract(t *testing.T, b []byte) string {
	t.Helper()
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "case.zip")
	if err := os.WriteFile(zipPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "case")
	if msg, err := exec.Command("unzip", "-q", zipPath, "-d", out).CombinedOutput(); err != nil {
		t.Fatalf("unzip: %v\n%s", err, msg)
	}
	return out
}

// readmeScript is exactly the command lines of README.txt, in order.
func readmeScript(t *testing.T, dir string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join(dir, "README.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(readme), "\n") {
		if c, ok := strings.CutPrefix(l, gateway.ReadmeCommandPrefix); ok {
			lines = append(lines, c)
		}
	}
	if len(lines) < 8 {
		t.Fatalf("README has %d commands:\n%s", len(lines), readme)
	}
	return strings.Join(lines, "\n") + "\n"
}

func needTools(t *testing.T, tools ...string) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install openssh-client age unzip)", tool)
		}
	}
}

// TestEvidenceReadmeStockTools runs the README's commands, verbatim, with Debian's ssh-keygen,
// sha256sum and age, on an extracted bundle; then again on a bundle with a flipped byte in a
// segment and in a manifest, where they must fail.
func TestEvidenceReadmeStockTools(t *testing.T) {
	needTools(t, "ssh-keygen", "sha256sum", "age", "unzip", "sh", "grep", "cut", "diff")
	f := newEvidenceFixture(t)
	id := newRecipient(t)
	keyFile := filepath.Join(t.TempDir(), "recipient.key")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(b []byte) (string, error) {
		dir := extract(t, b)
		cmd := exec.Command("sh", "-e", "-c", readmeScript(t, dir))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "AGE_KEY="+keyFile)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	tests := []struct {
		name string
		opt  gateway.EvidenceOptions
		edit func(string, []byte) []byte
		ok   bool
		want string // in the output
	}{
		{"recipient", gateway.EvidenceOptions{Recipients: []age.Recipient{id.Recipient()}}, nil, true, "seg-00000002.vlog: OK"},
		{"clear", gateway.EvidenceOptions{Clear: true}, nil, true, "seg-00000002.vlog: OK"},
		{"segment flipped", gateway.EvidenceOptions{Recipients: []age.Recipient{id.Recipient()}}, flipAt(f.id+"/seg-00000001.vlog.age", 300), false, "seg-00000001.vlog.age: FAILED"},
		{"manifest edited", gateway.EvidenceOptions{Clear: true}, flipAt(f.id+"/manifest.json", 40), false, "manifest.json: FAILED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := f.export(t, tt.opt)
			if tt.edit != nil {
				b = rezip(t, b, tt.edit)
			}
			out, err := run(b)
			if (err == nil) != tt.ok || !strings.Contains(out, tt.want) {
				t.Fatalf("README steps: err %v, want ok %v and %q in:\n%s", err, tt.ok, tt.want, out)
			}
			if tt.ok && !strings.Contains(out, `Good "vigil-recording" signature for vigil-node`) {
				t.Errorf("no good signature reported:\n%s", out)
			}
		})
	}
	// The per-segment check alone also catches a flipped plaintext when the signed list is
	// bypassed: decrypt, then sha256sum -c against the manifest-derived SHA256SUMS.
}

func flipAt(target string, at int) func(string, []byte) []byte {
	return func(name string, data []byte) []byte {
		if name == target {
			data = append([]byte(nil), data...)
			data[at%len(data)] ^= 1
		}
		return data
	}
}

// TestEvidencePlayerOffline opens player.html from disk in headless Chromium with every network
// route closed (a dead proxy), plays it at top speed and reads the terminal: it must show each
// segment's output, and no request may have left for anything but the file and data: URLs.
func TestEvidencePlayerOffline(t *testing.T) {
	chromium := needChromium(t)
	needTools(t, "unzip")
	f := newEvidenceFixture(t)
	dir := extract(t, f.export(t, gateway.EvidenceOptions{Recipients: []age.Recipient{newRecipient(t).Recipient()}}))
	page := "file://" + filepath.Join(dir, f.id, "player.html")

	ctx := startBrowser(t, chromium, chromedp.ProxyServer("127.0.0.1:9"), chromedp.Flag("proxy-bypass-list", "<-loopback>"), chromedp.WindowSize(1000, 700))
	var mu sync.Mutex
	var urls []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if r, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, r.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()
	type C = chromedp.CSS
	var screen string
	err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`!!(window.vigil && window.vigil.term)`, chromedp.WithPollingTimeout(20*time.Second))(ctx, tg)
			return err
		}),
		chromedp.SetValue(C("#speed"), "1000"),
		chromedp.Click(C("#play")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Poll[bool](`window.vigil.st.done`, chromedp.WithPollingTimeout(20*time.Second))(ctx, tg)
			return err
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			v, err := chromedp.Text(C(".xterm-rows"))(ctx, tg)
			screen = v
			return err
		}),
	)
	if err != nil {
		t.Fatalf("player: %v", err)
	}
	// asciicast carries the output stream, not keyframes: the screen is the three outputs.
	if !strings.Contains(screen, "$ echo "+evidenceNeedle+"-1") || !strings.Contains(screen, evidenceNeedle+"-0") || !strings.Contains(screen, evidenceNeedle+"-2") {
		t.Errorf("screen after playing:\n%s", screen)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(urls) == 0 {
		t.Fatal("no request seen: the network listener is not working")
	}
	for _, u := range urls {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the player requested %s", u)
		}
	}
}
