// The browser terminal: the targets the user may open, each with a Connect button, and an
// xterm.js terminal on one of them over a websocket. The session is the gateway's own (recorded,
// redacted, shadowable, terminable like an SSH one); this page only carries bytes. Keystrokes go
// as binary messages, the terminal's size as a text message {"type":"resize"}; the server sends
// output as binary messages and {"type":"end","reason"} before closing.
import { Terminal } from './xterm.mjs';
import { el } from './app.js';

class HTTPError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

export async function renderTargets(main) {
  const res = await fetch('/api/targets', { credentials: 'same-origin' });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new HTTPError(res.status, data.error || `HTTP ${res.status}`);
  const rows = data.targets.map((t) => el('tr', {},
    el('td', {}, t.name),
    el('td', {}, el('button', { type: 'button', class: 'connect', 'data-target': t.name,
      onclick: () => { location.hash = `#/term/${encodeURIComponent(t.name)}`; } }, 'Connect'))));
  main.replaceChildren(el('h2', {}, 'Connect'),
    rows.length ? el('table', { id: 'targets' }, el('tbody', {}, ...rows))
      : el('p', {}, 'No targets are granted to you.'));
}

// cellSize measures one character cell of the terminal's font, to fit the terminal to its box.
function cellSize(term) {
  const probe = el('span', { style: `position:absolute;visibility:hidden;white-space:pre;font-family:${term.options.fontFamily};font-size:${term.options.fontSize}px;line-height:normal` }, 'W'.repeat(50));
  document.body.append(probe);
  const r = probe.getBoundingClientRect();
  probe.remove();
  return { w: r.width / 50 || 9, h: r.height * (term.options.lineHeight || 1) || 17 };
}

// fit sizes the terminal to the page: #term shrinks to its content, so the width is main's.
function fit(term, box) {
  const c = cellSize(term);
  const cols = Math.max(20, Math.min(300, Math.floor((box.parentElement.clientWidth - 20) / c.w)));
  const rows = Math.max(8, Math.min(100, Math.floor((window.innerHeight - box.getBoundingClientRect().top - 30) / c.h)));
  return { cols, rows };
}

export function renderTerm(main, target) {
  const state = el('span', { id: 'term-state', class: 'live' }, 'connecting');
  const note = el('p', { id: 'term-note', class: 'error' });
  const box = el('div', { id: 'term' });
  main.replaceChildren(el('h2', {}, `${target} `, state), note, box);
  const term = new Terminal({ cols: 100, rows: 30, scrollback: 5000, cursorBlink: true });
  const size = fit(term, box);
  term.resize(size.cols, size.rows);
  term.open(box);

  const st = { closed: false, bytes: 0, reason: '' };
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams({ cols: term.cols, rows: term.rows });
  const ws = new WebSocket(`${proto}//${location.host}/api/terminal/${encodeURIComponent(target)}/ws?${q}`);
  ws.binaryType = 'arraybuffer';
  const enc = new TextEncoder();
  ws.onopen = () => { state.textContent = 'connected'; term.focus(); };
  ws.onmessage = (ev) => {
    if (typeof ev.data === 'string') {
      const m = JSON.parse(ev.data);
      if (m.type === 'end') st.reason = m.reason || 'session ended';
      return;
    }
    const b = new Uint8Array(ev.data);
    st.bytes += b.length;
    term.write(b);
  };
  ws.onclose = (ev) => {
    st.closed = true;
    state.textContent = 'ended';
    state.className = '';
    if (st.reason) note.textContent = st.reason;
    else if (ev.code !== 1000) note.textContent = `connection closed (${ev.code}): the target may not be available to you`;
  };
  const send = (data) => { if (ws.readyState === WebSocket.OPEN) ws.send(data); };
  term.onData((d) => send(enc.encode(d)));
  // onBinary carries bytes that are not UTF-8 text (some mouse reports): one byte per char.
  term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)));
  term.onResize(({ cols, rows }) => send(JSON.stringify({ type: 'resize', cols, rows })));
  const onWindowResize = () => {
    if (!document.body.contains(box)) { window.removeEventListener('resize', onWindowResize); return; }
    const s = fit(term, box);
    if (s.cols !== term.cols || s.rows !== term.rows) term.resize(s.cols, s.rows);
  };
  window.addEventListener('resize', onWindowResize);
  window.addEventListener('hashchange', () => { ws.close(); term.dispose(); }, { once: true });

  // For tests and for copying: what the screen shows now, one line per row.
  window.vigilTerm = {
    state: st,
    screenText: () => {
      const b = term.buffer.active, out = [];
      for (let y = 0; y < term.rows; y++) out.push(b.getLine(b.viewportY + y)?.translateToString(true) ?? '');
      return out.join('\n');
    },
  };
}
