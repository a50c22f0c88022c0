// Package file is the storage.Backend that keeps objects as files under one directory: the
// default store of a single-node Vigil (the data directory's storage/).
//
// An object with key "a/b/c" is the file root/a/b/c. Data enters through Put, which writes a
// temporary file in the target's directory (a name no key can take, so List never shows it),
// fsyncs it, hard-links it into place (the link fails if the key exists, which makes write-once
// atomic even between racing writers), removes the temporary name and fsyncs the directory. Data
// leaves through Get, which opens the file.
//
// Every path is resolved through an os.Root, so no key, and no symlink planted inside the root,
// can reach a file outside it. On top of that the backend refuses symlinks inside the root
// altogether: a symlink in a key's path makes the operation fail, and List skips symlinks.
// Directories are made 0700 and files 0600; an existing root keeps its mode.
package file
