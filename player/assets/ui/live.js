// The live view: a read-only xterm.js terminal that follows a session in progress over a
// websocket. Each keyframe (preceded by a text message with its size) resets and repaints the
// screen, so a viewer that joins late or fell behind shows the current screen at once; binary
// messages are output written as they come. Nothing typed here is sent: the socket is one-way.
import { Terminal } from './xterm.mjs';
import * as api from './api.js';
import { el } from './app.js';

export async function renderLive(main, id, user) {
  const { sessions } = await api.live();
  const s = sessions.find((x) => x.id === id);
  const state = el('span', { id: 'live-state', class: 'live' }, s ? (s.paused ? 'paused' : 'live') : 'not live');
  const note = el('p', { id: 'live-note', class: 'error' });
  const head = el('h2', {}, s ? `${s.user} → ${s.target} ` : `${id} `, state);
  const term = new Terminal({ cols: s?.cols || 80, rows: s?.rows || 24, scrollback: 1000, disableStdin: true, cursorBlink: false });
  const box = el('div', { id: 'term' });
  const act = async (what, body) => {
    note.textContent = '';
    try {
      await api.liveAction(id, what, body);
      if (st.closed) return; // the session ended meanwhile: 'ended' stays
      if (what === 'pause') state.textContent = 'paused';
      if (what === 'resume') state.textContent = 'live';
      if (what === 'terminate') state.textContent = 'terminated';
    } catch (e) { note.textContent = e.message; }
  };
  const reason = el('input', { id: 'reason', placeholder: 'reason (required to terminate)', size: 40 });
  const controls = el('div', { class: 'controls' },
    el('button', { id: 'pause', type: 'button', onclick: () => act('pause', { reason: reason.value }) }, 'Pause'),
    el('button', { id: 'resume', type: 'button', onclick: () => act('resume') }, 'Resume'),
    reason,
    el('button', { id: 'terminate', type: 'button', onclick: () => {
      let r = reason.value.trim();
      if (!r) r = (prompt('Reason for terminating this session:') || '').trim();
      if (!r) { note.textContent = 'A reason is required to terminate.'; return; }
      reason.value = r;
      act('terminate', { reason: r });
    } }, 'Terminate'));
  main.replaceChildren(head, user.role === 'user' ? el('span') : controls, note, box);
  term.open(box);

  const st = { keyframes: 0, bytes: 0, closed: false, lastAt: 0 };
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}/api/live/${encodeURIComponent(id)}/shadow`);
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (ev) => {
    if (typeof ev.data === 'string') {
      const m = JSON.parse(ev.data);
      if (m.type === 'keyframe') {
        term.reset();
        if (m.cols && m.rows) term.resize(m.cols, m.rows);
        st.keyframes++;
      }
      return;
    }
    const b = new Uint8Array(ev.data);
    st.bytes += b.length;
    st.lastAt = performance.now();
    term.write(b);
  };
  ws.onclose = (ev) => {
    st.closed = true;
    state.textContent = ev.code === 1000 ? 'ended' : state.textContent;
    if (ev.code !== 1000) note.textContent = `shadow closed (${ev.code})`;
  };
  // Refresh the paused/live state now and then: another auditor may act on the session.
  const poll = setInterval(async () => {
    if (!document.body.contains(box)) { clearInterval(poll); ws.close(); return; }
    if (st.closed) return;
    try {
      const cur = (await api.live()).sessions.find((x) => x.id === id);
      if (cur) state.textContent = cur.paused ? 'paused' : 'live';
    } catch { /* the next poll tries again */ }
  }, 2000);
  window.addEventListener('hashchange', () => ws.close(), { once: true });

  // For tests and for copying: what the screen shows now, one line per row.
  window.vigilLive = {
    state: st,
    screenText: () => {
      const b = term.buffer.active, out = [];
      for (let y = 0; y < term.rows; y++) out.push(b.getLine(b.viewportY + y)?.translateToString(true) ?? '');
      return out.join('\n');
    },
  };
}
