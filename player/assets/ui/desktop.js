// The desktop page: a graphical session (VNC, RDP) drawn on a canvas from the desktop websocket
// (player/desktop_ws.go has the protocol). Tiles are decoded as they arrive and drawn in order; a
// frame is acknowledged once drawn, which is what paces the server. Keys, pointer and wheel go to
// the target while the canvas has focus; a shadow (watch) sends nothing and shows the live
// controls instead.
import * as api from './api.js';
import { el } from './app.js';

export const isGraphical = (protocol) => protocol === 'vnc' || protocol === 'rdp';

export async function getJSON(path) {
  const res = await fetch(path, { credentials: 'same-origin' });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new api.HTTPError(res.status, body);
  return body;
}

// appendDesktopTargets adds the graphical targets the user may open to the Connect page.
export async function appendDesktopTargets(main) {
  const { targets } = await getJSON('/api/desktop/targets');
  if (!targets.length) return;
  const list = el('ul', { id: 'desktop-targets' });
  for (const t of targets) {
    const otp = el('span', { class: 'desk-otp' });
    const btn = el('button', { type: 'button', class: 'desk-otp-btn', 'data-target': t.name, onclick: () => showOTP(t.name, otp) }, 'VNC viewer password');
    list.append(el('li', {}, el('a', { class: 'connect-desktop', href: `#/desktop/${encodeURIComponent(t.name)}`, 'data-target': t.name }, `Connect to ${t.name}`), ` (${t.protocol}) `, btn, ' ', otp));
  }
  main.append(el('h3', {}, 'Desktops'), list);
}

// showOTP asks for a one-time password for a native VNC viewer and shows it with its expiry and
// the address to point the viewer at. It is shown once: the server keeps no copy to show again.
async function showOTP(target, out) {
  out.textContent = '…';
  try {
    const o = await api.desktopOTP(target);
    const where = o.address ? ` at ${o.address}` : ' at the gateway\'s VNC port';
    out.replaceChildren('password ', el('code', { class: 'otp' }, o.password),
      `, valid once until ${new Date(o.expires).toLocaleTimeString()}: connect a VNC viewer${where}`);
  } catch (e) {
    out.textContent = `no password: ${e.message}`;
  }
}

// renderDesktop opens {target} (Connect) or {shadow: id} (watch, read-only).
export async function renderDesktop(main, { target, shadow }, user) {
  const { csrf } = await api.me();
  const title = el('h2', {}, shadow ? `watching ${shadow} ` : `${target} `);
  const state = el('span', { id: 'desk-state', class: 'live' }, 'connecting');
  title.append(state);
  const status = el('p', { id: 'desk-status' });
  const note = el('p', { id: 'desk-note', class: 'error' });
  const canvas = el('canvas', { id: 'desk', tabindex: '0', width: '1', height: '1' });
  const box = el('div', { id: 'desk-box' }, canvas);
  const clip = el('textarea', { id: 'desk-clip', rows: 2, cols: 60, placeholder: 'clipboard' });
  const clipRow = el('div', { class: 'controls', hidden: '' }, clip,
    el('button', { type: 'button', id: 'desk-clip-send', onclick: () => send({ type: 'clipboard', text: clip.value }) }, 'Send clipboard'));
  const controls = el('div', { class: 'controls' });
  if (shadow && user.role !== 'user') controls.append(...liveControls(shadow, state, note));
  if (!shadow) controls.append(el('button', { type: 'button', id: 'desk-leave', onclick: () => { location.hash = '#/targets'; } }, 'Disconnect'));
  main.replaceChildren(title, controls, note, box, clipRow, status);
  const g = canvas.getContext('2d');

  const st = { id: '', frames: 0, tiles: 0, bytes: 0, ended: '', closed: false, paused: false, w: 0, h: 0 };
  const viewport = () => {
    const top = box.getBoundingClientRect().top;
    return { w: Math.max(64, Math.floor(box.clientWidth)), h: Math.max(64, Math.floor(window.innerHeight - top - 90)) };
  };
  const fit = () => {
    if (!st.w) return;
    const v = viewport();
    const s = Math.min(v.w / st.w, v.h / st.h, 1);
    canvas.style.width = `${Math.floor(st.w * s)}px`;
    canvas.style.height = `${Math.floor(st.h * s)}px`;
  };
  const showStatus = () => {
    state.textContent = st.ended ? 'ended' : st.closed ? 'closed' : st.paused ? 'paused' : 'live';
    status.textContent = st.ended ? `Session ended: ${st.ended}` : `${st.w}×${st.h}${shadow ? ' · read-only' : ''}${st.paused ? ' · paused by an auditor' : ''}`;
  };

  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const path = shadow ? `/api/desktop/shadow/${encodeURIComponent(shadow)}` : `/api/desktop/connect/${encodeURIComponent(target)}`;
  const ws = new WebSocket(`${proto}//${location.host}${path}`);
  ws.binaryType = 'arraybuffer';
  const send = (m) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
  ws.onopen = () => send({ type: 'hello', csrf, ...viewport() });

  // Messages are handled strictly in order; a tile's inflation starts on arrival, so several
  // decode at once while drawing keeps the order.
  let chain = Promise.resolve();
  ws.onmessage = (ev) => {
    const work = typeof ev.data === 'string' ? null : decode(ev.data);
    chain = chain.then(async () => handle(ev.data, work && await work)).catch((e) => { note.textContent = e.message; });
  };
  async function decode(buf) {
    const b = new Uint8Array(buf);
    if (b[0] !== 1) return null;
    const dv = new DataView(buf);
    const t = { x: dv.getUint16(1), y: dv.getUint16(3), w: dv.getUint16(5), h: dv.getUint16(7) };
    let px = b.subarray(10);
    if (b[9] === 1 || b[9] === 2) {
      const out = new Blob([px]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
      px = new Uint8Array(await new Response(out).arrayBuffer());
    }
    if (b[9] === 2) { // RGB, each channel a difference from the pixel to the left
      const rgba = new Uint8ClampedArray(t.w * t.h * 4);
      for (let y = 0, i = 0, o = 0; y < t.h; y++) {
        let r = 0, g = 0, bl = 0;
        for (let x = 0; x < t.w; x++) {
          r = (r + px[i++]) & 255; g = (g + px[i++]) & 255; bl = (bl + px[i++]) & 255;
          rgba[o++] = r; rgba[o++] = g; rgba[o++] = bl; rgba[o++] = 255;
        }
      }
      t.data = new ImageData(rgba, t.w, t.h);
      return t;
    }
    t.data = new ImageData(new Uint8ClampedArray(px.buffer, px.byteOffset, px.length), t.w, t.h);
    return t;
  }
  function handle(data, tile) {
    if (typeof data === 'string') {
      const m = JSON.parse(data);
      if (m.type === 'session') { st.id = m.id; if (m.clipboard) clipRow.hidden = false; if (!m.readonly) canvas.focus(); }
      else if (m.type === 'size') {
        st.w = m.w; st.h = m.h; canvas.width = m.w; canvas.height = m.h;
        g.fillStyle = '#000'; g.fillRect(0, 0, m.w, m.h); fit();
      } else if (m.type === 'cursor') canvas.style.cursor = m.png ? `url(data:image/png;base64,${m.png}) ${m.x} ${m.y}, auto` : 'none';
      else if (m.type === 'clipboard') clip.value = m.text;
      else if (m.type === 'status') st.paused = m.paused;
      else if (m.type === 'end') st.ended = m.cause;
      showStatus();
      return;
    }
    if (tile) { g.putImageData(tile.data, tile.x, tile.y); st.tiles++; st.bytes += data.byteLength; return; }
    const b = new Uint8Array(data);
    if (b[0] === 2) {
      st.frames++;
      send({ type: 'ack', seq: new DataView(data).getUint32(1) });
    }
  }
  ws.onclose = (ev) => {
    st.closed = true;
    if (ev.code !== 1000) note.textContent = ev.reason || `connection closed (${ev.code})`;
    showStatus();
  };

  if (!shadow) bindInput(canvas, send);
  let resizeTimer = 0;
  const onResize = () => {
    fit();
    clearTimeout(resizeTimer);
    if (!shadow) resizeTimer = setTimeout(() => send({ type: 'resize', ...viewport() }), 500);
  };
  window.addEventListener('resize', onResize);
  window.addEventListener('hashchange', () => { ws.close(); window.removeEventListener('resize', onResize); }, { once: true });

  // For tests: the canvas's pixels as base64 RGBA.
  window.vigilDesktop = {
    state: st,
    pixels: () => {
      const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
      let s = '';
      for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode(...d.subarray(i, i + 0x8000));
      return btoa(s);
    },
  };
}

// bindInput forwards keys, pointer and wheel from the canvas, in desktop pixels.
function bindInput(canvas, send) {
  const at = (ev) => {
    const r = canvas.getBoundingClientRect();
    const x = Math.floor((ev.clientX - r.left) * canvas.width / r.width);
    const y = Math.floor((ev.clientY - r.top) * canvas.height / r.height);
    return { x: Math.min(Math.max(x, 0), canvas.width - 1), y: Math.min(Math.max(y, 0), canvas.height - 1) };
  };
  const key = (down) => (ev) => {
    ev.preventDefault(); // Tab, Backspace, F5 and the like belong to the remote desktop
    send({ type: 'key', code: ev.code, key: ev.key, down });
  };
  canvas.addEventListener('keydown', key(true));
  canvas.addEventListener('keyup', key(false));
  // Moves are sent at most once an animation frame; presses and releases at once, after it.
  let move = null;
  const flush = () => { if (move) { send(move); move = null; } };
  canvas.addEventListener('pointermove', (ev) => {
    if (!move) requestAnimationFrame(flush);
    move = { type: 'pointer', ...at(ev), buttons: ev.buttons };
  });
  const press = (ev) => { ev.preventDefault(); canvas.focus(); flush(); send({ type: 'pointer', ...at(ev), buttons: ev.buttons }); };
  canvas.addEventListener('pointerdown', press);
  canvas.addEventListener('pointerup', press);
  canvas.addEventListener('contextmenu', (ev) => ev.preventDefault());
  let acc = 0;
  canvas.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    acc += ev.deltaMode === 1 ? ev.deltaY * 40 : ev.deltaY;
    while (Math.abs(acc) >= 40) {
      send({ type: 'wheel', ...at(ev), dy: Math.sign(acc) });
      acc -= Math.sign(acc) * 40;
    }
  }, { passive: false });
}

// liveControls are the pause, resume and terminate buttons of the live page, for a shadow.
function liveControls(id, state, note) {
  const act = async (what, body) => {
    note.textContent = '';
    try { await api.liveAction(id, what, body); } catch (e) { note.textContent = e.message; }
  };
  const reason = el('input', { id: 'reason', placeholder: 'reason (required to terminate)', size: 40 });
  return [
    el('button', { id: 'pause', type: 'button', onclick: () => act('pause', { reason: reason.value }) }, 'Pause'),
    el('button', { id: 'resume', type: 'button', onclick: () => act('resume') }, 'Resume'),
    reason,
    el('button', { id: 'terminate', type: 'button', onclick: () => {
      const r = reason.value.trim();
      if (!r) { note.textContent = 'A reason is required to terminate.'; return; }
      act('terminate', { reason: r });
    } }, 'Terminate'),
  ];
}
