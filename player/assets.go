package player

import "embed"

// ui is the front end, served as it is: the UI's own ES modules, page and style, written in
// assets/ui, beside xterm.js (xterm.mjs, xterm.css, xterm.LICENSE), which `make web` vendors from
// the pinned npm package and which is committed, so that a plain `go build` needs no Node.
//
//go:embed all:assets/ui
var ui embed.FS
