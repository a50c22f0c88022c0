package player

import "embed"

// dist is the built front end (web/, built by `make web`). It is committed so that a plain
// `go build` works without Node; `make web` rebuilds it.
//
//go:embed all:assets/dist
var dist embed.FS
