// Evidence export from the web UI: the auditor picks sessions, a protection (an age recipient or a
// passphrase; never in clear from the browser), starts the export, watches its progress and
// downloads the bundle. The server checks the export permission and audits the export.
import { el } from './app.js';
import * as api from './api.js';

export function exportPanel(ids, onClose) {
  const recipient = el('input', { id: 'exp-recipient', placeholder: 'age1… (the receiver\'s age public key)', size: 64 });
  const pass = el('input', { id: 'exp-pass', type: 'password', placeholder: 'or a passphrase (12+ characters)', size: 32, autocomplete: 'new-password' });
  const bar = el('progress', { id: 'exp-progress', max: 1, value: 0, hidden: true });
  const status = el('span', { id: 'exp-status', class: 'exp-status' });
  const start = el('button', { type: 'submit', id: 'exp-start' }, 'Export');
  const close = el('button', { type: 'button', onclick: onClose }, 'Close');
  const form = el('form', { class: 'export', id: 'export-panel' },
    el('h3', {}, `Export ${ids.length} session${ids.length === 1 ? '' : 's'} as evidence`),
    el('p', {}, 'The bundle holds the signed recordings re-encrypted to the receiver, their audit events, a player and a README that lets anyone verify it with stock tools.'),
    recipient, ' ', pass, ' ', start, ' ', close, el('div', {}, bar, ' ', status));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    start.disabled = true;
    status.textContent = 'starting…';
    const body = { sessions: ids };
    if (recipient.value.trim()) body.recipient = recipient.value.trim(); else body.passphrase = pass.value;
    let job;
    try {
      job = await api.startExport(body);
    } catch (e) {
      status.textContent = e.message; status.className = 'exp-status error'; start.disabled = false;
      return;
    }
    pass.value = '';
    bar.hidden = false;
    for (;;) {
      bar.max = Math.max(job.total, 1); bar.value = job.done;
      status.textContent = job.total ? `${job.done} of ${job.total} segments` : 'working…';
      if (job.state !== 'running') break;
      await new Promise((r) => setTimeout(r, 500));
      try { job = await api.exportStatus(job.id); } catch (e) { status.textContent = e.message; return; }
    }
    if (job.state === 'failed') {
      status.textContent = 'failed: ' + job.error; status.className = 'exp-status error'; start.disabled = false;
      return;
    }
    bar.value = bar.max;
    status.replaceChildren(`done, ${(job.bytes / 1048576).toFixed(1)} MiB: `,
      el('a', { id: 'exp-download', href: `/api/exports/${encodeURIComponent(job.id)}/download`, download: '' }, 'download the bundle'));
  });
  return form;
}
