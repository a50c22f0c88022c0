// The API client: the CSRF token from /api/me or login goes with every state-changing request.
let csrf = '';

export class HTTPError extends Error {
  constructor(status, body) { super(body.error || `HTTP ${status}`); this.status = status; this.body = body; }
}

async function call(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) { opts.headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(body); }
  if (method !== 'GET' && csrf) opts.headers['X-CSRF-Token'] = csrf;
  const res = await fetch(path, opts);
  const text = await res.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch { data = { error: text }; }
  if (!res.ok) throw new HTTPError(res.status, data);
  return data;
}

export async function me() { const m = await call('GET', '/api/me'); csrf = m.csrf; return m; }
export async function login(user, password, code) {
  const m = await call('POST', '/api/login', { user, password, code }); csrf = m.csrf; return m;
}
export async function logout() { await call('POST', '/api/logout'); csrf = ''; }
export const sessions = (params) => call('GET', '/api/sessions?' + new URLSearchParams(params));
export const session = (id) => call('GET', `/api/sessions/${encodeURIComponent(id)}`);
export const verify = (id) => call('GET', `/api/sessions/${encodeURIComponent(id)}/verify`);
export const live = () => call('GET', '/api/live');
export const liveAction = (id, action, body) => call('POST', `/api/live/${encodeURIComponent(id)}/${action}`, body || {});
export const startExport = (body) => call('POST', '/api/exports', body);
export const exportStatus = (id) => call('GET', `/api/exports/${encodeURIComponent(id)}`);
export const search = (params) => call('GET', '/api/search?' + new URLSearchParams(params));
export const desktopOTP = (target) => call('POST', '/api/desktop/otp', { target });

// records fetches the segment holding `from` (ms): {head, records}, payloads decoded to bytes.
export async function records(id, from) {
  const res = await fetch(`/api/sessions/${encodeURIComponent(id)}/records?from=${Math.floor(from)}`, { credentials: 'same-origin' });
  if (!res.ok) throw new HTTPError(res.status, {});
  const lines = (await res.text()).split('\n').filter((l) => l);
  const head = JSON.parse(lines[0]);
  const recs = lines.slice(1).map((l) => {
    const r = JSON.parse(l);
    if (r.d) r.bytes = Uint8Array.from(atob(r.d), (c) => c.charCodeAt(0));
    return r;
  });
  return { head, records: recs };
}
