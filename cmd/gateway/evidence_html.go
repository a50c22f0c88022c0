package gateway

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"strings"
	"sync"

	"github.com/seed18fc72c3/vigil/player"
)

// The offline player is one HTML file: xterm.js (the web UI's build, taken from the player's
// embedded assets so that there is one copy of it in the repository) imported from a data: URL,
// its CSS inlined, and the asciicast inlined as base64. A Content-Security-Policy meta tag
// forbids every fetch, so opening it cannot reach a network even if something in it tried.

// offlinePlayerCSP allows inline scripts and styles and data: module imports, nothing else.
const offlinePlayerCSP = "default-src 'none'; script-src 'unsafe-inline' data:; style-src 'unsafe-inline'; img-src data:; font-src data:"

var xtermAssets struct {
	once     sync.Once
	mjs, css []byte
	err      error
}

// loadXterm reads xterm.mjs and xterm.css from the web UI's embedded assets, through the player's
// own file server (its embed is unexported; its handler serves the files without a login).
func loadXterm() ([]byte, []byte, error) {
	xtermAssets.once.Do(func() {
		srv, err := player.NewServer(player.Config{Auth: &WebAuth{}, Sessions: &WebSessions{}, Search: WebSearch{}})
		if err != nil {
			xtermAssets.err = fmt.Errorf("evidence: player assets: %w", err)
			return
		}
		get := func(name string) []byte {
			w := &memResponse{header: http.Header{}, code: http.StatusOK}
			req, _ := http.NewRequest(http.MethodGet, "/"+name, nil)
			srv.ServeHTTP(w, req)
			if w.code != http.StatusOK || w.body.Len() == 0 {
				xtermAssets.err = fmt.Errorf("evidence: player asset %s: status %d", name, w.code)
			}
			return w.body.Bytes()
		}
		xtermAssets.mjs, xtermAssets.css = get("xterm.mjs"), get("xterm.css")
	})
	return xtermAssets.mjs, xtermAssets.css, xtermAssets.err
}

type memResponse struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (m *memResponse) Header() http.Header         { return m.header }
func (m *memResponse) Write(p []byte) (int, error) { return m.body.Write(p) }
func (m *memResponse) WriteHeader(code int)        { m.code = code }

// offlinePlayer returns player.html for session s playing cast (asciicast v2).
func offlinePlayer(s BundleSession, cast []byte) ([]byte, error) {
	mjs, css, err := loadXterm()
	if err != nil {
		return nil, err
	}
	if bytes.Contains(css, []byte("</")) {
		return nil, fmt.Errorf("evidence: xterm.css cannot be inlined")
	}
	title := fmt.Sprintf("%s → %s, %s", s.User, s.Target, s.Start)
	r := strings.NewReplacer(
		"{{CSP}}", offlinePlayerCSP,
		"{{TITLE}}", html.EscapeString(title),
		"{{SESSION}}", html.EscapeString(s.ID),
		"{{CAUSE}}", html.EscapeString(s.EndCause),
		"{{XTERM_CSS}}", string(css),
		"{{XTERM_MJS}}", base64.StdEncoding.EncodeToString(mjs),
		"{{CAST}}", base64.StdEncoding.EncodeToString(cast),
	)
	return []byte(r.Replace(playerPage)), nil
}

const playerPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{CSP}}">
<title>Vigil recording {{SESSION}}</title>
<style>{{XTERM_CSS}}</style>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}
h1{font-size:1.2em} .controls{margin:.8em 0;display:flex;gap:.8em;align-items:center}
#term{display:inline-block;padding:6px;background:#000}
#clock{font-variant-numeric:tabular-nums}
</style></head><body>
<h1>{{TITLE}}</h1>
<p>Session {{SESSION}}, ended: {{CAUSE}}. Offline player of a Vigil evidence bundle: this file loads nothing from any network.</p>
<div class="controls"><button id="play" type="button">Play</button>
<label>Speed <select id="speed"><option>0.5</option><option selected>1</option><option>2</option><option>4</option><option>16</option><option>64</option><option>1000</option></select></label>
<label><input id="skipidle" type="checkbox"> skip idle</label>
<button id="end" type="button">Show end</button><span id="clock">0:00</span></div>
<div id="term"></div>
<script id="cast" type="application/octet-stream">{{CAST}}</script>
<script type="module">
const { Terminal } = await import('data:text/javascript;base64,{{XTERM_MJS}}');
const raw = atob(document.getElementById('cast').textContent.trim());
const text = new TextDecoder().decode(Uint8Array.from(raw, (c) => c.charCodeAt(0)));
const lines = text.split('\n').filter((l) => l.trim() !== '');
const head = JSON.parse(lines[0]);
const events = lines.slice(1).map((l) => JSON.parse(l));
const duration = events.length ? events[events.length - 1][0] : 0;
const term = new Terminal({ cols: head.width || 80, rows: head.height || 24, scrollback: 5000, disableStdin: true });
term.open(document.getElementById('term'));
const $ = (id) => document.getElementById(id);
const st = { i: 0, pos: 0, playing: false, timer: 0, wall: 0, from: 0, done: false };
window.vigil = { term, st, events: events.length };
const fmt = (s) => Math.floor(s / 60) + ':' + String(Math.floor(s % 60)).padStart(2, '0');
const show = () => { $('clock').textContent = fmt(st.pos) + ' / ' + fmt(duration); };
const apply = (e) => {
  if (e[1] === 'o') term.write(e[2]);
  else if (e[1] === 'r') { const [c, r] = String(e[2]).split('x').map(Number); if (c > 0 && r > 0) term.resize(c, r); }
};
const finish = () => {
  clearTimeout(st.timer); st.playing = false; st.pos = duration; show(); $('play').textContent = 'Play';
  term.write('', () => { st.done = true; });
};
function tick() {
  const speed = Number($('speed').value);
  let now = st.from + ((performance.now() - st.wall) / 1000) * speed;
  while (st.i < events.length && events[st.i][0] <= now) apply(events[st.i++]);
  if (st.i >= events.length) { finish(); return; }
  let wait = (events[st.i][0] - now) * 1000 / speed;
  if ($('skipidle').checked && wait > 2000) { st.from = events[st.i][0] - 2 * speed; st.wall = performance.now(); wait = 2000; now = st.from; }
  st.pos = now; show();
  st.timer = setTimeout(tick, Math.max(0, Math.min(wait, 250)));
}
function play() {
  if (st.i >= events.length) { term.reset(); term.resize(head.width || 80, head.height || 24); st.i = 0; st.pos = 0; st.done = false; }
  st.playing = true; st.from = st.pos; st.wall = performance.now(); $('play').textContent = 'Pause'; tick();
}
function pause() { clearTimeout(st.timer); st.playing = false; $('play').textContent = 'Play'; }
$('play').onclick = () => (st.playing ? pause() : play());
$('speed').onchange = () => { if (st.playing) { pause(); play(); } };
$('end').onclick = () => { pause(); while (st.i < events.length) apply(events[st.i++]); finish(); };
show();
</script>
</body></html>
`
