// Vendors xterm.js from the pinned npm package (package-lock.json) into player/assets/ui, beside
// the UI's own modules, which are written there directly. The Go binary embeds that folder.
import { cpSync } from 'node:fs';

const out = new URL('../player/assets/ui/', import.meta.url);
const xterm = new URL('./node_modules/@xterm/xterm/', import.meta.url);
cpSync(new URL('lib/xterm.mjs', xterm), new URL('xterm.mjs', out));
cpSync(new URL('css/xterm.css', xterm), new URL('xterm.css', out));
cpSync(new URL('LICENSE', xterm), new URL('xterm.LICENSE', out));
console.log('web: vendored xterm.js into', out.pathname);
