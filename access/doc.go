// Package access holds who may reach what: users (password hash, SSH keys, role), targets (address,
// protocol, pinned host key or RDP certificate), and grants (user -> target as account). It answers the proxies'
// questions "who is this" (AuthenticatePassword, AuthenticateKey), "where may they go" (Permitted,
// Authorize) and "is this really the target" (HostKeyCallback).
//
// Entries come from two places, merged by a Store: the configuration file (Config, read-only: the
// CLI refuses to change them with ErrFromConfig) and <data>/access.json, which the CLI edits. The
// file is written atomically with mode 0600 under an advisory lock, and reread by a running
// gateway when it changes, so `vigil user add` takes effect without a restart. Host keys and RDP
// certificate fingerprints recorded on first use live in the same file.
//
// Decisions:
//   - Names of users and targets match [a-z0-9][a-z0-9._-]{0,63}: no '@', which separates
//     user@target@gateway (and user@account@target@gateway) in SSH login names.
//   - Passwords are hashed with argon2id in the PHC string format; unknown users are checked
//     against a dummy hash so that timing does not reveal who exists.
//   - A target the user has no grant on is reported exactly like a missing one (ErrNoSuchTarget).
//   - With several accounts granted on one target, a bare target name picks the first grant;
//     "account@target" picks a given one.
//
// access imports nothing else of Vigil's (it may import vault).
package access
