// Builds the web UI: copies the plain ES modules of src/ and xterm.js into player/assets/dist,
// which the Go binary embeds. No bundler: the pages load modules from the same origin only.
import { cpSync, mkdirSync, rmSync } from 'node:fs';

const out = new URL('../player/assets/dist/', import.meta.url);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(new URL('./src/', import.meta.url), out, { recursive: true });
const xterm = new URL('./node_modules/@xterm/xterm/', import.meta.url);
cpSync(new URL('lib/xterm.mjs', xterm), new URL('xterm.mjs', out));
cpSync(new URL('css/xterm.css', xterm), new URL('xterm.css', out));
cpSync(new URL('LICENSE', xterm), new URL('xterm.LICENSE', out));
console.log('web: built', out.pathname);
