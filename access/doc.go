// Package access holds who may reach what: users (password hash, SSH keys, role), targets (address,
// protocol, pinned host key), and grants (user -> target as account). It answers the proxies'
// questions "who is this" and "may they go there".
//
// access imports nothing else of Vigil's but vault.
package access
