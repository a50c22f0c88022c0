// Package vault keeps target credentials (passwords and private keys) encrypted at rest in the data
// directory. A secret leaves the vault only to the proxy that logs in with it; it is never logged,
// recorded or shown.
//
// Data enters through Set and leaves through Get, always as a Secret, whose String, GoString,
// Format, MarshalJSON and LogValue all print "[redacted]": a secret printed or logged by accident
// shows nothing. List returns names only.
//
// On disk (dir is <data>/vault, mode 0700):
//
//	key                  32 random bytes, mode 0600, made on first use (FileKey); refused when
//	                     readable by group or others
//	entries/<id>.json    one entry per (target, account), mode 0600, written atomically
//
// <id> is the hex SHA-256 of the length-prefixed target and account, so any account name is a safe
// file name. An entry holds the names in clear (List needs them; they are not secret), a key id and
// the AES-256-GCM sealed secret. The additional data of the seal binds the format version, the
// target and the account that Get was asked for, so an entry copied or renamed over another one
// fails to open (ErrTampered) instead of yielding the wrong credential. The key id (an HMAC of a
// fixed label under the key) tells a wrong key (ErrWrongKey) apart from a damaged entry.
//
// The key comes from a KeySource; FileKey is the default, and a KMS or passphrase source can
// replace it without changing the entry format.
//
// vault imports nothing else of Vigil's.
package vault
