// Package vault keeps target credentials (passwords and private keys) encrypted at rest in the data
// directory. A secret leaves the vault only to the proxy that logs in with it; it is never logged,
// recorded or shown.
//
// vault imports nothing else of Vigil's.
package vault
