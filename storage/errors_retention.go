package storage

import "errors"

// ErrRetained means Delete was refused because the object is under retention (an S3 Object Lock
// retain-until date in the future) or a legal hold. It is a policy decision of the store, not a
// failure: the object is intact and stays until its retention ends and any hold is cleared.
var ErrRetained = errors.New("object retained")
