// Vigil's web UI: a hash router over five pages. Everything the server decides (who may see
// what) is enforced there; the pages only show what the API answers.
import * as api from './api.js';
import { renderPlayer } from './player.js';
import { renderLive } from './live.js';
import { renderDesktop, appendDesktopTargets, isGraphical } from './desktop.js';
import { renderVideo, videoSegments } from './video.js';
import { renderTargets, renderTerm } from './term.js';
import { exportPanel } from './export.js';

const main = document.getElementById('main');
let user = null;

export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else if (v !== undefined) e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

export function fmtDuration(ms) {
  const s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return (h ? `${h}:${String(m).padStart(2, '0')}` : `${m}`) + ':' + String(s % 60).padStart(2, '0');
}
const fmtBytes = (n) => n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;

function renderLogin() {
  document.getElementById('top').hidden = true;
  const err = el('p', { class: 'error', id: 'login-error' });
  const code = el('input', { id: 'code', name: 'code', placeholder: 'code from your app', autocomplete: 'one-time-code', inputmode: 'numeric' });
  const codeRow = el('label', {}, 'Code ', code); codeRow.hidden = true;
  const form = el('form', { class: 'login', id: 'login', method: 'post', action: '#' },
    el('h2', {}, 'Vigil'),
    el('label', {}, 'User ', el('input', { id: 'user', name: 'user', autocomplete: 'username', required: '' })),
    el('label', {}, 'Password ', el('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: '' })),
    codeRow, el('button', { type: 'submit' }, 'Log in'), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    try {
      user = await api.login(form.user.value, form.password.value, code.value);
      location.hash = '#/sessions';
      route();
    } catch (e) {
      if (e.body && e.body.totp_required) { codeRow.hidden = false; code.focus(); err.textContent = 'Enter the code from your authenticator app.'; }
      else err.textContent = e.message;
    }
  });
  main.replaceChildren(form);
}

async function renderSessions(params) {
  const f = (name, ph, type = 'text') => el('input', { name, placeholder: ph, type, value: params.get(name) || '' });
  const status = el('select', { name: 'status' }, el('option', { value: '' }, 'any status'), el('option', { value: 'live' }, 'live'), el('option', { value: 'ended' }, 'ended'));
  status.value = params.get('status') || '';
  const form = el('form', { class: 'filters', id: 'filters' }, f('user', 'user'), f('target', 'target'), f('protocol', 'protocol'),
    f('since', 'since', 'date'), f('until', 'until', 'date'), status, el('button', { type: 'submit' }, 'Filter'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    location.hash = '#/sessions?' + q;
  });
  const body = el('tbody');
  // Auditors and admins may pick sessions to export as evidence (the server checks the export
  // permission itself).
  const canExport = user.role !== 'user';
  const picked = new Set();
  const panel = el('div', { id: 'export-slot' });
  const exportBtn = el('button', { type: 'button', id: 'export', disabled: '', hidden: canExport ? undefined : '', onclick: () => {
    panel.replaceChildren(exportPanel([...picked], () => panel.replaceChildren()));
  } }, 'Export selected…');
  main.replaceChildren(el('h2', {}, 'Sessions'), form, exportBtn, panel, el('table', { id: 'sessions' },
    el('thead', {}, el('tr', {}, ...[canExport ? '' : null, 'Start', 'User', 'Target', 'Protocol', 'Duration', 'Size', 'End', 'Seal'].filter((h) => h !== null).map((h) => el('th', {}, h)))), body));
  const filters = {};
  for (const k of ['user', 'target', 'protocol', 'since', 'until', 'status']) if (params.get(k)) filters[k] = params.get(k);
  const [{ sessions }, liveList] = await Promise.all([api.sessions(filters), api.live().catch(() => ({ sessions: [] }))]);
  const live = new Map(liveList.sessions.map((l) => [l.id, l]));
  // Live sessions not in the store yet (no segment written) still show, at the top.
  for (const l of liveList.sessions) {
    if (sessions.some((s) => s.id === l.id) || filters.status === 'ended') continue;
    sessions.unshift({ id: l.id, user: l.user, target: l.target, protocol: l.protocol || 'ssh', start: l.start, duration_ms: Date.now() - Date.parse(l.start), bytes: 0, live: true, verified: '' });
  }
  for (const s of sessions) {
    const seal = el('td', { class: 'seal' }, s.verified ? '' : '…');
    showSeal(seal, s.verified);
    const tr = el('tr', { class: 'row', 'data-id': s.id, onclick: () => { location.hash = `#/play/${encodeURIComponent(s.id)}`; } },
      el('td', {}, new Date(s.start).toLocaleString()), el('td', {}, s.user), el('td', {}, s.target), el('td', {}, s.protocol),
      el('td', {}, fmtDuration(s.duration_ms)), el('td', {}, fmtBytes(s.bytes)),
      s.live ? liveCell(s, live.get(s.id)) : el('td', {}, s.cause || (s.broken ? 'unreadable' : '')), seal);
    if (canExport) {
      const box = el('input', { type: 'checkbox', class: 'pick', 'data-id': s.id, disabled: s.live ? '' : undefined, title: s.live ? 'export after the session ends' : 'select for export',
        onclick: (ev) => ev.stopPropagation(),
        onchange: (ev) => { if (ev.target.checked) picked.add(s.id); else picked.delete(s.id); exportBtn.disabled = picked.size === 0; } });
      tr.prepend(el('td', { onclick: (ev) => ev.stopPropagation() }, box));
    }
    body.append(tr);
    if (!s.verified) api.verify(s.id).then((v) => showSeal(seal, v.verified)).catch(() => { seal.textContent = '?'; });
  }
  if (!sessions.length) body.append(el('tr', {}, el('td', { colspan: 8 }, 'No sessions.')));
}

// liveCell marks a session in progress; auditors get a link to watch it.
function liveCell(s, l) {
  const td = el('td', { class: 'live' }, l && l.paused ? 'live (paused)' : 'live');
  if (l && user.role !== 'user') {
    td.append(' ', el('a', { class: 'watch', href: `#/${isGraphical(s.protocol) ? 'watch' : 'live'}/${encodeURIComponent(s.id)}`, onclick: (ev) => ev.stopPropagation() }, 'watch'));
  }
  return td;
}

function showSeal(td, v) {
  if (!v) return;
  td.textContent = v === 'ok' ? '✔ verifies' : '✘ ' + v;
  td.className = 'seal ' + (v === 'ok' ? 'ok' : 'bad');
  td.title = v;
}

async function renderSearch(params) {
  const q = el('input', { name: 'q', id: 'q', placeholder: 'command or text, "exact phrase", -exclude', size: 50, value: params.get('q') || '' });
  const form = el('form', { class: 'filters', id: 'searchform' }, q, el('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (ev) => { ev.preventDefault(); location.hash = '#/search?' + new URLSearchParams({ q: q.value }); });
  const results = el('div', { id: 'results' });
  main.replaceChildren(el('h2', {}, 'Search'), form, results);
  if (!params.get('q')) return;
  const { groups } = await api.search({ q: params.get('q'), sort: 'time', limit: 200 });
  if (!groups.length) results.append(el('p', {}, 'No hits.'));
  for (const g of groups) {
    const box = el('div', { class: 'group' }, el('h3', {}, `${g.session.user} → ${g.session.target}`, el('small', {}, ` ${new Date(g.session.start).toLocaleString()} (${g.hits.length} hits)`)));
    for (const h of g.hits) {
      // A hit read by OCR from a graphical screen names its region: the player outlines it.
      const region = h.region ? `&r=${h.region.join(',')}` : '';
      const a = el('a', { class: 'hit', href: `#/play/${encodeURIComponent(g.session.id)}?t=${h.offset_ms}&q=${encodeURIComponent(params.get('q'))}${region}` }, `${fmtDuration(h.offset_ms)}  `);
      const snip = el('span'); snip.innerHTML = h.snippet; // escaped by the server, matches in <mark>
      a.append(snip);
      box.append(a);
    }
    results.append(box);
  }
}

async function route() {
  const [path, qs] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(qs || '');
  if (!user) {
    try { user = await api.me(); } catch { user = null; }
  }
  if (!user) { renderLogin(); return; }
  document.getElementById('top').hidden = false;
  document.getElementById('who').textContent = `${user.user} (${user.role})`;
  try {
    if (path.startsWith('/live/')) await renderLive(main, decodeURIComponent(path.slice(6)), user);
    else if (path === '/targets') await renderTargets(main);
    else if (path.startsWith('/term/')) renderTerm(main, decodeURIComponent(path.slice(6)));
    else if (path.startsWith('/desktop/')) await renderDesktop(main, { target: decodeURIComponent(path.slice(9)) }, user);
    else if (path.startsWith('/watch/')) await renderDesktop(main, { shadow: decodeURIComponent(path.slice(7)) }, user);
    else if (path.startsWith('/play/')) {
      // Graphical recordings play as video; text ones in the terminal player.
      const id = decodeURIComponent(path.slice(6));
      const video = await videoSegments(id).catch(() => []);
      if (video.length) await renderVideo(main, id, params, video); else await renderPlayer(main, id, params);
    }
    else if (path === '/search') await renderSearch(params);
    else await renderSessions(params);
    if (path === '/targets') await appendDesktopTargets(main); // graphical targets under the text ones
  } catch (e) {
    if (e.status === 401) { user = null; renderLogin(); return; }
    main.append(el('p', { class: 'error' }, e.message));
  }
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await api.logout(); } finally { user = null; location.hash = '#/login'; route(); }
});
window.addEventListener('hashchange', route);
route();
