package s3

import (
	"errors"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7/pkg/tags"
	"github.com/seed18fc72c3/vigil/storage"
)

// Retention modes, as S3 Object Lock names them.
const (
	// Governance retention can be bypassed by a user holding s3:BypassGovernanceRetention.
	Governance = "GOVERNANCE"
	// Compliance retention cannot be shortened or bypassed by anyone, root included.
	Compliance = "COMPLIANCE"
)

// Tags Vigil sets on every object. Config.Tags may not use these keys.
const (
	TagRetention = "vigil-retention"  // "none", or mode and days such as "governance-365d"
	TagLegalHold = "vigil-legal-hold" // "off" or "on"
)

// Config describes the bucket and what Put sets on each object.
type Config struct {
	Endpoint  string // host[:port], no scheme: "s3.eu-west-1.amazonaws.com", "127.0.0.1:9000"
	Bucket    string
	Region    string // empty lets the client discover it
	AccessKey string
	SecretKey string // never printed: String and errors leave it out
	UseTLS    bool
	// Prefix, if set, goes before every key in the bucket ("vigil/" stores "a/b" as "vigil/a/b"),
	// so that several deployments can share a bucket. It ends with "/".
	Prefix    string
	Retention Retention
	// Tags are extra object tags set on every Put (at most 8: S3 allows 10 and Vigil uses 2).
	Tags map[string]string
	// GovernanceBypass makes Delete send x-amz-bypass-governance-retention, so that a principal
	// allowed s3:BypassGovernanceRetention can delete GOVERNANCE-retained objects early. It is for
	// an administrator's cleanup tool, never for the recording node. Legal holds and COMPLIANCE
	// retention are not bypassable.
	GovernanceBypass bool
}

// Retention is the Object Lock set on every object: Mode "" sets none (and tags the object
// "none"), otherwise Mode is Governance or Compliance and Days (>= 1) is counted from each Put.
type Retention struct {
	Mode string
	Days int
}

// class is the value of TagRetention.
func (r Retention) class() string {
	if r.Mode == "" {
		return "none"
	}
	return fmt.Sprintf("%s-%dd", strings.ToLower(r.Mode), r.Days)
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Endpoint == "":
		return errors.New("s3: config: endpoint is empty")
	case strings.Contains(c.Endpoint, "://") || strings.Contains(c.Endpoint, "/"):
		return fmt.Errorf("s3: config: endpoint %q: want host[:port] without scheme or path (set use_tls for https)", c.Endpoint)
	case c.Bucket == "":
		return errors.New("s3: config: bucket is empty")
	case c.AccessKey == "" || c.SecretKey == "":
		return errors.New("s3: config: access key and secret key are required")
	}
	if c.Prefix != "" {
		if !strings.HasSuffix(c.Prefix, "/") {
			return fmt.Errorf("s3: config: prefix %q must end with /", c.Prefix)
		}
		if err := storage.ValidateKey(strings.TrimSuffix(c.Prefix, "/")); err != nil {
			return fmt.Errorf("s3: config: prefix: %w", err)
		}
	}
	switch c.Retention.Mode {
	case "":
		if c.Retention.Days != 0 {
			return fmt.Errorf("s3: config: retention days %d without a retention mode", c.Retention.Days)
		}
	case Governance, Compliance:
		if c.Retention.Days < 1 {
			return fmt.Errorf("s3: config: retention days %d, want at least 1", c.Retention.Days)
		}
	default:
		return fmt.Errorf("s3: config: retention mode %q, want %s, %s or empty", c.Retention.Mode, Governance, Compliance)
	}
	if len(c.Tags) > 8 {
		return fmt.Errorf("s3: config: %d tags, at most 8", len(c.Tags))
	}
	for k := range c.Tags {
		if k == TagRetention || k == TagLegalHold {
			return fmt.Errorf("s3: config: tag %q is reserved", k)
		}
	}
	if _, err := tags.NewTags(c.Tags, true); err != nil {
		return fmt.Errorf("s3: config: tags: %w", err)
	}
	return nil
}

// String describes the config without the secret key, so that logging a Config is safe.
func (c Config) String() string {
	return fmt.Sprintf("s3{endpoint=%s bucket=%s region=%s tls=%t prefix=%q access_key=%s retention=%s}",
		c.Endpoint, c.Bucket, c.Region, c.UseTLS, c.Prefix, c.AccessKey, c.Retention.class())
}

// GoString keeps %#v from printing the secret key too.
func (c Config) GoString() string { return c.String() }
