package s3

import (
	"context"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"
)

// SetLegalHold places (on) or lifts (off) a legal hold on the object's current version and sets
// its TagLegalHold tag to match. A held object cannot be deleted whatever its retention says, and
// the hold has no expiry. The bucket must have Object Lock enabled. The tag is a label for
// people and lifecycle rules; the hold itself is what the store enforces, and it is set first,
// so a failure between the two leaves the object protected, never the reverse.
func (b *Backend) SetLegalHold(ctx context.Context, key string, on bool) error {
	if err := b.setLegalHold(ctx, key, on); err != nil {
		return fmt.Errorf("s3: legal hold %s: %w", key, err)
	}
	return nil
}

func (b *Backend) setLegalHold(ctx context.Context, key string, on bool) error {
	oi, err := b.stat(ctx, key)
	if err != nil {
		return err
	}
	status, label := minio.LegalHoldDisabled, "off"
	if on {
		status, label = minio.LegalHoldEnabled, "on"
	}
	name := b.objectName(key)
	err = b.client.PutObjectLegalHold(ctx, b.cfg.Bucket, name, minio.PutObjectLegalHoldOptions{VersionID: oi.VersionID, Status: &status})
	if err != nil {
		return b.mapErr(ctx, err)
	}
	t, err := b.client.GetObjectTagging(ctx, b.cfg.Bucket, name, minio.GetObjectTaggingOptions{VersionID: oi.VersionID})
	if err != nil {
		return fmt.Errorf("hold set, tag not read: %w", b.mapErr(ctx, err))
	}
	if err := t.Set(TagLegalHold, label); err != nil {
		return fmt.Errorf("hold set, tag not set: %w", err)
	}
	if err := b.client.PutObjectTagging(ctx, b.cfg.Bucket, name, t, minio.PutObjectTaggingOptions{VersionID: oi.VersionID}); err != nil {
		return fmt.Errorf("hold set, tag not written: %w", b.mapErr(ctx, err))
	}
	return nil
}

// Lock is an object's Object Lock state as the store reports it.
type Lock struct {
	Mode        string    // Governance, Compliance or "" for none
	RetainUntil time.Time // zero if no retention
	LegalHold   bool
}

// Lock reports the object's retention and legal hold.
func (b *Backend) Lock(ctx context.Context, key string) (Lock, error) {
	l, err := b.lock(ctx, key)
	if err != nil {
		return Lock{}, fmt.Errorf("s3: lock state %s: %w", key, err)
	}
	return l, nil
}

func (b *Backend) lock(ctx context.Context, key string) (Lock, error) {
	oi, err := b.stat(ctx, key)
	if err != nil {
		return Lock{}, err
	}
	return b.versionLock(ctx, key, oi.VersionID)
}

// versionLock reads one version's lock state. A version with no retention or no hold is answered
// with an error by some stores and with an empty state by others; both mean "none".
func (b *Backend) versionLock(ctx context.Context, key, versionID string) (Lock, error) {
	name := b.objectName(key)
	var l Lock
	mode, until, err := b.client.GetObjectRetention(ctx, b.cfg.Bucket, name, versionID)
	if err != nil && !isNoLock(err) {
		return Lock{}, b.mapErr(ctx, err)
	}
	if err == nil && mode != nil && until != nil {
		l.Mode, l.RetainUntil = string(*mode), *until
	}
	hold, err := b.client.GetObjectLegalHold(ctx, b.cfg.Bucket, name, minio.GetObjectLegalHoldOptions{VersionID: versionID})
	if err != nil && !isNoLock(err) {
		return Lock{}, b.mapErr(ctx, err)
	}
	l.LegalHold = err == nil && hold != nil && *hold == minio.LegalHoldEnabled
	return l, nil
}

func isNoLock(err error) bool {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError", "InvalidRequest":
		return true
	}
	return false
}

// lockReason says why a version cannot be deleted, or "" if its lock state does not explain it
// (then the refusal was something else, such as a missing permission).
func (b *Backend) lockReason(ctx context.Context, key, versionID string) string {
	l, err := b.versionLock(ctx, key, versionID)
	if err != nil {
		return ""
	}
	switch {
	case l.LegalHold:
		return "under legal hold"
	case l.Mode != "" && time.Now().Before(l.RetainUntil):
		return fmt.Sprintf("%s retention until %s", l.Mode, l.RetainUntil.UTC().Format(time.RFC3339))
	}
	return ""
}
