// The video player for graphical recordings. Each video segment is a standalone fragmented MP4
// (its own init segment); they are fed to one Media Source Extensions buffer in "sequence" mode
// with the timestamp offset set to the segment's start, so segment i plays at its place in
// session time whatever its internal clock. Segments load on demand (the one under the play
// head and the next), and those far from it are evicted, so a long recording does not fill
// memory. Seek, speed and timeline work as in the text player.
import * as api from './api.js';
import { el, fmtDuration } from './app.js';
import { getJSON } from './desktop.js';

const KEEP = 4; // segments kept in the buffer around the play head

export async function videoSegments(id) {
  const { segments } = await getJSON(`/api/sessions/${encodeURIComponent(id)}/video`);
  return segments;
}

// codecOf reads the avcC box of an MP4 to name its H.264 profile and level for addSourceBuffer.
function codecOf(buf) {
  const b = new Uint8Array(buf);
  for (let i = 4; i + 8 < b.length; i++) {
    if (b[i] === 0x61 && b[i + 1] === 0x76 && b[i + 2] === 0x63 && b[i + 3] === 0x43) { // 'avcC'
      const h = (v) => v.toString(16).padStart(2, '0');
      return `avc1.${h(b[i + 5])}${h(b[i + 6])}${h(b[i + 7])}`;
    }
  }
  return 'avc1.42E01E';
}

export async function renderVideo(main, id, params, segments) {
  const detail = await api.session(id);
  const s = detail.session;
  const duration = Math.max(s.duration_ms, ...segments.map((g) => g.end_ms), 1);
  const video = el('video', { id: 'video', muted: '', playsinline: '' });
  video.muted = true;
  const timeline = el('div', { id: 'timeline', title: 'click to seek' });
  const cursor = el('div', { class: 'cursor' });
  const clock = el('span', { id: 'clock' }, '0:00');
  const playBtn = el('button', { id: 'play', type: 'button' }, 'Play');
  const speed = el('select', { id: 'speed' }, ...[0.5, 1, 2, 4, 8, 16].map((v) => el('option', { value: v }, `${v}x`)));
  speed.value = '1';
  const note = el('p', { id: 'video-note', class: 'error' });
  main.replaceChildren(
    el('h2', {}, `${s.user} → ${s.target} `, el('small', {}, `${new Date(s.start).toLocaleString()} · ${fmtDuration(duration)} · ${s.protocol}${s.live ? ' · live' : ''}`)),
    el('div', { class: 'controls' }, playBtn, el('label', {}, 'Speed ', speed), clock),
    timeline, note, el('div', { id: 'video-box' }, video));

  const rate = segments.map((g) => g.bytes / Math.max(g.end_ms - g.start_ms, 1));
  const peak = Math.max(...rate, 1e-9);
  segments.forEach((g, i) => timeline.append(el('div', {
    class: 'heat', style: `left:${(100 * g.start_ms) / duration}%;width:${(100 * (g.end_ms - g.start_ms)) / duration}%;opacity:${(0.1 + 0.9 * rate[i] / peak).toFixed(2)}`,
    title: `segment ${g.index}`,
  })));
  for (const m of detail.markers || []) timeline.append(el('div', { class: 'tick', style: `left:${(100 * m.offset_ms) / duration}%`, title: `${fmtDuration(m.offset_ms)} ${m.line}` }));
  if (params.get('q')) {
    api.search({ q: params.get('q'), session: id, limit: 500 }).then(({ groups }) => {
      for (const g of groups) for (const h of g.hits) timeline.append(el('div', { class: 'hitmark', style: `left:${(100 * h.offset_ms) / duration}%`, title: h.line }));
    }).catch(() => {});
  }
  timeline.append(cursor);

  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  await new Promise((res) => ms.addEventListener('sourceopen', res, { once: true }));
  const st = { loaded: new Set(), queue: Promise.resolve(), sb: null, ready: false, seeks: 0 };
  const at = (t) => { // index into segments of the one holding t (ms)
    let i = 0;
    while (i + 1 < segments.length && segments[i + 1].start_ms <= t) i++;
    return i;
  };
  const append = (buf) => new Promise((res, rej) => {
    st.sb.addEventListener('updateend', res, { once: true });
    st.sb.addEventListener('error', rej, { once: true });
    st.sb.appendBuffer(buf);
  });
  const remove = (a, b) => new Promise((res) => {
    st.sb.addEventListener('updateend', res, { once: true });
    st.sb.remove(a, b);
  });
  // load appends segment i (serially: one SourceBuffer takes one operation at a time).
  const load = (i) => {
    if (i < 0 || i >= segments.length) return st.queue;
    st.queue = st.queue.then(async () => {
      if (st.loaded.has(i)) return;
      const g = segments[i];
      const res = await fetch(`/api/sessions/${encodeURIComponent(id)}/video/${g.index}`, { credentials: 'same-origin' });
      if (!res.ok) throw new api.HTTPError(res.status, {});
      const buf = await res.arrayBuffer();
      if (!st.sb) {
        st.sb = ms.addSourceBuffer(`video/mp4; codecs="${codecOf(buf)}"`);
        st.sb.mode = 'sequence';
      }
      for (const j of [...st.loaded]) { // evict what is far from here
        if (st.loaded.size < KEEP) break;
        if (Math.abs(j - i) > 1) { await remove(segments[j].start_ms / 1000, segments[j].end_ms / 1000); st.loaded.delete(j); }
      }
      st.sb.timestampOffset = g.start_ms / 1000;
      await append(buf);
      st.loaded.add(i);
      if (st.loaded.size === segments.length && ms.readyState === 'open' && !s.live) ms.duration = duration / 1000;
    }).catch((e) => { note.textContent = `cannot load the video: ${e.message || e}`; });
    return st.queue;
  };

  const show = () => {
    const t = video.currentTime * 1000;
    clock.textContent = `${fmtDuration(t)} / ${fmtDuration(duration)}`;
    cursor.style.left = `${(100 * t) / duration}%`;
  };
  async function seek(t) {
    st.seeks++;
    const i = at(t);
    await load(i);
    video.currentTime = Math.max(t, segments[i].start_ms) / 1000;
    load(i + 1);
    show();
  }
  // Keep the segment under the play head and the next one loaded; step over gaps between
  // segments (a still screen has no frames to fill them).
  const tick = setInterval(() => {
    if (!document.body.contains(video)) { clearInterval(tick); return; }
    const t = video.currentTime * 1000;
    const i = at(t);
    if (!st.loaded.has(i)) load(i);
    if (segments[i] && segments[i].end_ms - t < 2000) load(i + 1);
    if (!video.paused && video.readyState < 3) {
      const r = video.buffered;
      for (let k = 0; k < r.length; k++) {
        if (r.start(k) > video.currentTime && r.start(k) - video.currentTime < 10) { video.currentTime = r.start(k); break; }
      }
    }
    show();
  }, 250);
  video.addEventListener('timeupdate', show);
  video.addEventListener('play', () => { playBtn.textContent = 'Pause'; });
  video.addEventListener('pause', () => { playBtn.textContent = 'Play'; });
  playBtn.addEventListener('click', () => {
    if (!video.paused) { video.pause(); return; }
    if (video.currentTime * 1000 >= duration - 50) seek(0).then(() => video.play());
    else video.play().catch((e) => { note.textContent = e.message; });
  });
  speed.addEventListener('change', () => { video.playbackRate = Number(speed.value); });
  timeline.addEventListener('click', (ev) => {
    const r = timeline.getBoundingClientRect();
    seek(Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width)) * duration);
  });

  // An OCR hit's screen region (r=x,y,w,h in desktop pixels, which are the video's) is outlined
  // while the video is near the hit's moment.
  const region = (params.get('r') || '').split(',').map(Number);
  const box = document.getElementById('video-box');
  let outline = null;
  if (region.length === 4 && region.every((v) => Number.isFinite(v) && v >= 0)) {
    outline = el('div', { id: 'ocr-region', title: 'where the search hit was read on the screen' });
    box.append(outline);
    const hitT = Number(params.get('t') || 0);
    const place = () => {
      const k = video.videoWidth ? video.clientWidth / video.videoWidth : 0;
      const near = Math.abs(video.currentTime * 1000 - hitT) < 5000;
      outline.hidden = !k || !near;
      Object.assign(outline.style, { left: `${region[0] * k}px`, top: `${region[1] * k}px`, width: `${region[2] * k}px`, height: `${region[3] * k}px` });
    };
    for (const ev of ['loadedmetadata', 'timeupdate', 'seeked', 'resize']) video.addEventListener(ev, place);
    window.addEventListener('resize', place);
    place();
  }

  window.vigilVideo = { state: st, seek, video, segments, outline };
  await seek(Number(params.get('t') || 0));
  st.ready = true;
}
