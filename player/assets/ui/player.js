// The player for text sessions. Seeking asks the server for the segment holding the moment: its
// keyframe repaints the screen, the records before the moment are written at once, the rest play
// in time. At a segment's end the next one is fetched and played on without its keyframe.
import { Terminal } from './xterm.mjs';
import * as api from './api.js';
import { el, fmtDuration } from './app.js';

const IDLE_MS = 2000; // "skip idle" jumps any pause longer than this

export async function renderPlayer(main, id, params) {
  const detail = await api.session(id);
  const s = detail.session;
  const duration = Math.max(s.duration_ms, ...detail.segments.map((g) => g.end_ms), 1);
  const term = new Terminal({ cols: 80, rows: 24, scrollback: 2000, disableStdin: true, convertEol: false });
  const box = el('div', { id: 'term' });
  const timeline = el('div', { id: 'timeline', title: 'click to seek' });
  const cursor = el('div', { class: 'cursor' });
  const clock = el('span', { id: 'clock' }, '0:00');
  const playBtn = el('button', { id: 'play', type: 'button' }, 'Play');
  const speed = el('select', { id: 'speed' }, ...[0.5, 1, 2, 4, 8, 16].map((v) => el('option', { value: v }, `${v}x`)));
  speed.value = '1';
  const skip = el('input', { id: 'skipidle', type: 'checkbox' });
  main.replaceChildren(
    el('h2', {}, `${s.user} → ${s.target} `, el('small', {}, `${new Date(s.start).toLocaleString()} · ${fmtDuration(duration)}${s.live ? ' · live' : ''}`)),
    el('div', { class: 'controls' }, playBtn, el('label', {}, 'Speed ', speed), el('label', {}, skip, ' skip idle'), clock),
    timeline, el('p'), box);
  term.open(box);

  // Heatmap: output bytes per segment, as opacity over the segment's span.
  const rate = detail.segments.map((g) => g.bytes / Math.max(g.end_ms - g.start_ms, 1));
  const peak = Math.max(...rate, 1e-9);
  detail.segments.forEach((g, i) => timeline.append(el('div', {
    class: 'heat', style: `left:${(100 * g.start_ms) / duration}%;width:${(100 * (g.end_ms - g.start_ms)) / duration}%;opacity:${(0.1 + 0.9 * rate[i] / peak).toFixed(2)}`,
    title: `segment ${g.index}`,
  })));
  for (const m of detail.markers) timeline.append(el('div', { class: 'tick', style: `left:${(100 * m.offset_ms) / duration}%`, title: `${fmtDuration(m.offset_ms)} $ ${m.line}` }));
  if (params.get('q')) {
    api.search({ q: params.get('q'), session: id, limit: 500 }).then(({ groups }) => {
      for (const g of groups) for (const h of g.hits) timeline.append(el('div', { class: 'hitmark', style: `left:${(100 * h.offset_ms) / duration}%`, title: h.line }));
    }).catch(() => {});
  }
  timeline.append(cursor);

  const st = { pos: 0, queue: [], next: -1, playing: false, timer: 0, wallStart: 0, posStart: 0, gen: 0, ready: false };
  const write = (r) => {
    if ((r.k === 'out' || r.k === 'key') && r.bytes) term.write(r.bytes);
    else if (r.k === 'size' && r.cols && r.rows) term.resize(r.cols, r.rows);
  };
  const show = () => {
    clock.textContent = `${fmtDuration(st.pos)} / ${fmtDuration(duration)}`;
    cursor.style.left = `${(100 * st.pos) / duration}%`;
  };

  async function seek(t) {
    const gen = ++st.gen;
    st.ready = false;
    clearTimeout(st.timer);
    const { head, records } = await api.records(id, t);
    if (gen !== st.gen) return; // a later seek won
    term.reset();
    if (head.cols && head.rows) term.resize(head.cols, head.rows);
    let i = 0;
    for (; i < records.length && records[i].t <= t; i++) write(records[i]);
    st.queue = records.slice(i);
    st.next = head.next_ms;
    st.pos = Math.max(t, head.start_ms);
    await new Promise((res) => term.write('', res)); // the screen is drawn once xterm has parsed it
    st.ready = true;
    show();
    if (st.playing) start();
  }

  async function refill() {
    if (st.next < 0) return false;
    const gen = st.gen;
    const { head, records } = await api.records(id, st.next);
    if (gen !== st.gen) return false;
    st.queue = records.filter((r) => r.k !== 'key');
    st.next = head.next_ms;
    return true;
  }

  function start() {
    st.wallStart = performance.now();
    st.posStart = st.pos;
    tick();
  }

  async function tick() {
    if (!st.playing) return;
    const rate = Number(speed.value);
    let now = st.posStart + (performance.now() - st.wallStart) * rate;
    while (st.queue.length && st.queue[0].t <= now) { const r = st.queue.shift(); write(r); }
    if (!st.queue.length && !(await refill())) {
      st.pos = duration; show(); pause(); return;
    }
    if (skip.checked && st.queue.length && st.queue[0].t - now > IDLE_MS) {
      now = st.queue[0].t; st.posStart = now; st.wallStart = performance.now();
    }
    st.pos = Math.min(now, duration);
    show();
    const wait = st.queue.length ? Math.min(Math.max((st.queue[0].t - now) / rate, 0), 250) : 0;
    st.timer = setTimeout(tick, wait);
  }

  function pause() { st.playing = false; clearTimeout(st.timer); playBtn.textContent = 'Play'; }
  playBtn.addEventListener('click', () => {
    if (st.playing) { pause(); return; }
    st.playing = true; playBtn.textContent = 'Pause';
    if (st.pos >= duration) seek(0); else start();
  });
  speed.addEventListener('change', () => { if (st.playing) { clearTimeout(st.timer); start(); } });
  timeline.addEventListener('click', (ev) => {
    const r = timeline.getBoundingClientRect();
    seek(Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width)) * duration);
  });

  // For tests and for copying: what the screen shows now, one line per row.
  window.vigilPlayer = {
    state: st, seek,
    screenText: () => {
      const b = term.buffer.active, out = [];
      for (let y = 0; y < term.rows; y++) out.push(b.getLine(b.viewportY + y)?.translateToString(true) ?? '');
      return out.join('\n');
    },
  };
  await seek(Number(params.get('t') || 0));
}
