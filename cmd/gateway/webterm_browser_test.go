package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// typeLine types text into the focused element as inserted text, then presses Enter. chromedp's
// SendKeys sends each printable key as a keydown with text and a char event, and xterm.js takes
// both, so every character would arrive twice; Enter is sent as keydown and keyup only.
func typeLine(text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
			return err
		}
		for _, k := range kb.Encode('\r') {
			if k.Type == kb.KeyChar {
				continue
			}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, *k); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestWebTerminalInChromium: alice logs in to the web UI in headless Chromium, opens Connect,
// clicks Connect on web01 (a real sshd), types a command into the xterm.js terminal and sees its
// output; the session is live in the gateway under her name meanwhile, and exit ends the page's
// session.
func TestWebTerminalInChromium(t *testing.T) {
	chromium := needChromium(t)
	rig := startWebTermRig(t)
	artifacts := artifactsDir(t)
	ctx := startBrowser(t, chromium, chromedp.WindowSize(1200, 800))
	bctx := ctx
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	type C = chromedp.CSS
	shot := func(name string) chromedp.Action[chromedp.Void] { return screenshot(artifacts, name) }
	fail := func(what string, err error) {
		t.Helper()
		fctx, fcancel := context.WithTimeout(bctx, 10*time.Second)
		_ = chromedp.Do(fctx, shot("term-failed"))
		fcancel()
		t.Fatalf("%s: %v (screenshots in %s)", what, err, artifacts)
	}
	screen := func() string {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.vigilTerm ? window.vigilTerm.screenText() : ''`))
		if err != nil {
			fail("screen text", err)
		}
		return s
	}
	waitScreen := func(what, want string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(screen(), want); { // a hang guard
			if time.Now().After(deadline) {
				fail(what+" ("+want+")", nil)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(rig.web+"/"),
		chromedp.WaitVisible(C("#login")),
		chromedp.SendKeys(C("#user"), "alice"),
		chromedp.SendKeys(C("#password"), "alice-pw"),
		chromedp.Click(C(`#login button[type="submit"]`)),
		chromedp.WaitVisible(C("#nav-connect")),
		chromedp.Click(C("#nav-connect")),
		chromedp.WaitVisible(C(`button.connect[data-target="web01"]`)),
		shot("term-1-targets"),
		chromedp.Click(C(`button.connect[data-target="web01"]`)),
		chromedp.WaitVisible(C("#term .xterm")),
	)
	if err != nil {
		fail("open the terminal", err)
	}
	waitScreen("the recording notice", "This session is recorded by Vigil.")
	waitScreen("a shell prompt", "$")
	if live := rig.srv.Sessions(); len(live) != 1 || live[0].User != "alice" || live[0].Target != "web01" {
		t.Fatalf("live registry = %+v", live)
	}
	// Typed into xterm.js's own input element.
	err = chromedp.Do(ctx,
		chromedp.Click(C("#term .xterm")),
		chromedp.Focus(C("#term textarea")),
		typeLine("echo browser-$((6*7))"),
	)
	if err != nil {
		fail("type a command", err)
	}
	waitScreen("the command's output", "browser-42")
	if err := chromedp.Do(ctx, shot("term-2-output"), typeLine("exit")); err != nil {
		fail("exit", err)
	}
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('term-state').textContent === 'ended'`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		fail("the page after exit", err)
	}
	recs := waitRecordings(t, rig.store, 1)
	out, _, err := recordedStreams(rig.store, recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "browser-42") || recs[0].Session.User != "alice" {
		t.Errorf("recording of %q lacks the output: %q", recs[0].Session.User, out)
	}
	t.Logf("screenshots in %s", artifacts)
}
