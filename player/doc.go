// Package player serves recordings and sessions to people: the web UI and its JSON API (sessions,
// search, the terminal and video players, live shadowing and controls, the browser terminal and
// desktop, evidence export), and the terminal replay used by the CLI.
//
// Data enters through small interfaces declared here and wired by cmd/gateway: Authenticator
// (passwords and TOTP from the access store), Sessions (recordings and their plaintext segments
// from storage, and seal verification), Searcher (the index) and an audit callback. It leaves as
// HTTP: the embedded front end (assets/ui, with xterm.js vendored by `make web`) and the API under
// /api/. Every API request is authenticated by a server-side session whose id travels in an
// HttpOnly, SameSite=Strict cookie; state-changing requests also carry the session's CSRF token.
// Roles are enforced here, not in the browser: a user sees only their own sessions, auditors and
// admins see all.
//
// Sessions in progress come through LiveSessions (the SSH gateway, wired by cmd/gateway): users
// may list their own; auditors and admins may watch any over a read-only websocket (the login
// cookie plus an Origin naming this server) and pause, resume or terminate it. The actor of an
// action is always the login, never the request, and every action goes to the audit callback.
package player
