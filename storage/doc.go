// Package storage keeps recordings: the Backend interface every store implements (put, get, list,
// delete of immutable objects), its backends (storage/file, later storage/s3), and later sealing
// and manifests.
//
// Data enters as segment bytes keyed by recording layout and leaves through Get. storage imports
// nothing else of Vigil's.
package storage
