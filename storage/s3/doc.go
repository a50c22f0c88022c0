// Package s3 is the storage.Backend for S3-compatible object stores (AWS S3, MinIO, Ceph RGW and
// the like), through minio-go. Sealed segments and manifests enter through Put as whole objects
// and leave through Get; the store is meant for a bucket created with Object Lock enabled.
//
// Retention is set on every object explicitly: each Put carries the Object Lock mode and a
// retain-until date (when Config.Retention asks for them) and tags naming the retention class and
// the legal-hold state, so that an object's protection never depends on a bucket default someone
// may change later. SetLegalHold places or lifts a legal hold on one object.
//
// Object Lock implies a versioned bucket. Delete therefore removes the object's current version
// for good (a plain S3 DELETE would only add a delete marker and leave the bytes, so a "deleted"
// recording would still count against retention and never really go); the store refuses that
// while the version is retained or held, and Delete reports storage.ErrRetained.
//
// Write-once uses a conditional PUT (If-None-Match: *), which the store decides atomically, so of
// several racing Puts of one key exactly one wins. Objects over PartSize go up as multipart
// uploads, where the condition is checked when the upload is created and again by stores that
// check it on completion (AWS, current MinIO); recordings' segments are far smaller.
package s3
