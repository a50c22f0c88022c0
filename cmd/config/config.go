// Package config is Vigil's configuration: defaults in code (Default), loading from one YAML file,
// VIGIL_* environment variables and flags (Load), and Validate, which names the bad field.
//
// Precedence, highest first: flags, environment (VIGIL_SSH_LISTEN for ssh.listen), the file, the
// defaults. A zero-configuration start uses the defaults alone.
package config

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/seed18fc72c3/vigil/access"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Config is the whole configuration. Field tags name the YAML keys; the environment variable of a
// key is VIGIL_ followed by the key in upper case with dots as underscores.
type Config struct {
	// DataDir holds all state: keys, spool, the file store, the index, the metadata.
	DataDir string `mapstructure:"data_dir"`
	Log     Log    `mapstructure:"log"`
	SSH     SSH    `mapstructure:"ssh"`
	Web     Web    `mapstructure:"web"`
	VNC     VNC    `mapstructure:"vnc"`
	OCR     OCR    `mapstructure:"ocr"`

	Recording Recording `mapstructure:"recording"`
	Storage   Storage   `mapstructure:"storage"`

	// Access holds users, targets and grants written in the file; the CLI adds more to
	// <data_dir>/access.json. See package access.
	Access access.Config `mapstructure:"access"`
}

// Log says how Vigil logs.
type Log struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// SSH is the SSH front end.
type SSH struct {
	Listen string `mapstructure:"listen"`
	// Banner is shown to every user before the session starts; it tells them they are recorded.
	Banner string `mapstructure:"banner"`
	// DialTimeout bounds connecting and logging in to a target.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
	// IdleTimeout ends a session with no traffic either way; 0 disables it.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
}

// Web is the web UI and API.
type Web struct {
	Listen string `mapstructure:"listen"`
}

// OCR reads the screens of graphical sessions into the search index (index/ocr). It runs off
// the sessions' path in a bounded pool and drops work under load rather than slow a session.
type OCR struct {
	// Enabled turns it on (default true).
	Enabled bool `mapstructure:"enabled"`
	// Workers is how many screens are read at once (default 1: one core of OCR at most).
	Workers int `mapstructure:"workers"`
	// Interval is the least time between two reads of one session's screen (default 3s).
	Interval time.Duration `mapstructure:"interval"`
}

// VNC is the native VNC front end (viewers log in with one-time passwords from `vigil vnc-otp`)
// and the policy of graphical sessions.
type VNC struct {
	// Listen is the VNC front end's address; empty (the default) turns it off. VNC
	// Authentication is DES over the wire with no encryption after it: keep it on loopback or
	// behind a tunnel unless the network is trusted.
	Listen string `mapstructure:"listen"`
	// Keys is which keys graphical recordings keep: "printable-redacted" (default: printable keys
	// only as counts, since they can spell passwords) or "all".
	Keys string `mapstructure:"keys"`
	// Clipboard lets clipboard text pass between the browser and graphical targets, both ways
	// (recorded as events). Off by default: it is the easiest way to carry data out.
	Clipboard bool `mapstructure:"clipboard"`
	// OTPTTL is how long a one-time password stays valid.
	OTPTTL time.Duration `mapstructure:"otp_ttl"`
	// DialTimeout bounds connecting and logging in to a VNC target.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`
}

// Recording says how sessions are recorded.
type Recording struct {
	// SegmentDuration and SegmentBytes cut a recording into segments: whichever comes first.
	SegmentDuration time.Duration `mapstructure:"segment_duration"`
	SegmentBytes    int           `mapstructure:"segment_bytes"`
	// RingBytes is the size of each direction's arena in a session's capture ring.
	RingBytes int `mapstructure:"ring_bytes"`
	// StallTimeout is how long a session waits for a recorder that has fallen behind before it is
	// ended with a recording-failure cause (fail closed).
	StallTimeout time.Duration `mapstructure:"stall_timeout"`
	// FailureGrace is how long a session is paused while its recording cannot be persisted (spool
	// or disk full, permission denied): writes are retried meanwhile, and if one succeeds the
	// session goes on with nothing lost; past it the session ends (fail closed). 0 ends it at once.
	// It must not exceed StallTimeout, or the stalled ring would end the session first.
	FailureGrace time.Duration `mapstructure:"failure_grace"`
	// Recipients are age recipients (age1...) that every recording is also encrypted to: escrow
	// or auditor keys. The node's own key is always a recipient.
	Recipients []string `mapstructure:"recipients"`
}

// EscrowRecipients parses Recipients.
func (r Recording) EscrowRecipients() ([]age.Recipient, error) {
	var out []age.Recipient
	for i, s := range r.Recipients {
		rec, err := age.ParseX25519Recipient(strings.TrimSpace(s))
		if err != nil {
			return nil, &FieldError{Field: fmt.Sprintf("recording.recipients[%d]", i), Value: s, Reason: "not an age X25519 recipient (age1...)"}
		}
		out = append(out, rec)
	}
	return out, nil
}

// Storage says where recordings go.
type Storage struct {
	Backend string      `mapstructure:"backend"` // "file" or "s3"
	File    FileStorage `mapstructure:"file"`
	S3      S3Storage   `mapstructure:"s3"`
	Spool   Spool       `mapstructure:"spool"`
}

// S3Storage is any S3-compatible object store. Segments go to a local spool first and are
// uploaded in order while the session runs; an outage only makes them wait.
type S3Storage struct {
	Endpoint  string `mapstructure:"endpoint"` // host:port, no scheme
	Bucket    string `mapstructure:"bucket"`
	Region    string `mapstructure:"region"`
	AccessKey string `mapstructure:"access_key"`
	// SecretKey is best given as VIGIL_STORAGE_S3_SECRET_KEY rather than in the file.
	SecretKey string `mapstructure:"secret_key"`
	UseTLS    bool   `mapstructure:"use_tls"`
	Prefix    string `mapstructure:"prefix"` // inside the bucket, ending in /
	// RetentionMode (GOVERNANCE or COMPLIANCE) and RetentionDays set Object Lock retention on
	// every object explicitly; the bucket must have object lock enabled.
	RetentionMode string `mapstructure:"retention_mode"`
	RetentionDays int    `mapstructure:"retention_days"`
}

// Spool is the local disk where segments wait for the object store.
type Spool struct {
	Dir      string `mapstructure:"dir"`       // default <data_dir>/spool
	MaxBytes int64  `mapstructure:"max_bytes"` // when full, sessions end: fail closed
}

// FileStorage is the local file backend.
type FileStorage struct {
	// Dir defaults to <data_dir>/recordings-store when empty.
	Dir string `mapstructure:"dir"`
}

// Default is the configuration Vigil runs with when nothing is configured.
func Default() Config {
	return Config{
		DataDir: "./vigil-data",
		Log:     Log{Level: "info", Format: "text"},
		SSH: SSH{
			Listen:      ":2222",
			Banner:      "This session is recorded and may be watched by auditors.",
			DialTimeout: 10 * time.Second,
		},
		Web: Web{Listen: "127.0.0.1:8080"},
		VNC: VNC{Keys: "printable-redacted", OTPTTL: 5 * time.Minute, DialTimeout: 10 * time.Second},
		OCR: OCR{Enabled: true, Workers: 1, Interval: 3 * time.Second},
		Recording: Recording{
			SegmentDuration: 5 * time.Second,
			SegmentBytes:    4 << 20,
			RingBytes:       1 << 20,
			StallTimeout:    10 * time.Second,
			FailureGrace:    10 * time.Second,
		},
		Storage: Storage{Backend: "file", Spool: Spool{MaxBytes: 1 << 30}},
	}
}

// FieldError names a bad configuration field and its value.
type FieldError struct {
	Field  string
	Value  any
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("config: %s = %q: %s", e.Field, fmt.Sprint(e.Value), e.Reason)
}

// Validate reports every bad field, each as a *FieldError, joined.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field string, v any, reason string) {
		errs = append(errs, &FieldError{Field: field, Value: v, Reason: reason})
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", c.DataDir, "must not be empty")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", c.Log.Level, "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", c.Log.Format, "must be text or json")
	}
	for _, a := range []struct{ field, v string }{{"ssh.listen", c.SSH.Listen}, {"web.listen", c.Web.Listen}} {
		if _, port, err := net.SplitHostPort(a.v); err != nil || port == "" {
			bad(a.field, a.v, "must be host:port (host may be empty)")
		}
	}
	if _, port, err := net.SplitHostPort(c.VNC.Listen); c.VNC.Listen != "" && (err != nil || port == "") {
		bad("vnc.listen", c.VNC.Listen, "must be empty (off) or host:port")
	}
	if c.VNC.Keys != "printable-redacted" && c.VNC.Keys != "all" {
		bad("vnc.keys", c.VNC.Keys, "must be printable-redacted or all")
	}
	if c.VNC.OTPTTL < 10*time.Second || c.VNC.OTPTTL > time.Hour {
		bad("vnc.otp_ttl", c.VNC.OTPTTL, "must be between 10s and 1h")
	}
	if c.OCR.Workers < 1 || c.OCR.Workers > 64 {
		bad("ocr.workers", c.OCR.Workers, "must be between 1 and 64")
	}
	if c.OCR.Interval < 500*time.Millisecond {
		bad("ocr.interval", c.OCR.Interval, "must be at least 500ms")
	}
	if c.VNC.DialTimeout <= 0 {
		bad("vnc.dial_timeout", c.VNC.DialTimeout, "must be positive")
	}
	if c.SSH.DialTimeout <= 0 {
		bad("ssh.dial_timeout", c.SSH.DialTimeout, "must be positive")
	}
	if c.SSH.IdleTimeout < 0 {
		bad("ssh.idle_timeout", c.SSH.IdleTimeout, "must not be negative")
	}
	if c.Recording.SegmentDuration < 100*time.Millisecond {
		bad("recording.segment_duration", c.Recording.SegmentDuration, "must be at least 100ms")
	}
	if c.Recording.SegmentBytes < 4<<10 {
		bad("recording.segment_bytes", c.Recording.SegmentBytes, "must be at least 4096")
	}
	if c.Recording.RingBytes < 64<<10 {
		bad("recording.ring_bytes", c.Recording.RingBytes, "must be at least 65536")
	}
	if c.Recording.StallTimeout <= 0 {
		bad("recording.stall_timeout", c.Recording.StallTimeout, "must be positive")
	}
	if g := c.Recording.FailureGrace; g < 0 {
		bad("recording.failure_grace", g, "must not be negative")
	} else if g > c.Recording.StallTimeout {
		bad("recording.failure_grace", g, "must not exceed recording.stall_timeout")
	}
	if _, err := c.Recording.EscrowRecipients(); err != nil {
		errs = append(errs, err)
	}
	switch c.Storage.Backend {
	case "file":
	case "s3":
		s3 := c.Storage.S3
		for _, f := range []struct{ name, v string }{{"endpoint", s3.Endpoint}, {"bucket", s3.Bucket}, {"access_key", s3.AccessKey}} {
			if strings.TrimSpace(f.v) == "" {
				bad("storage.s3."+f.name, f.v, "is required with storage.backend s3")
			}
		}
		if s3.SecretKey == "" {
			bad("storage.s3.secret_key", "", "is required with storage.backend s3 (set VIGIL_STORAGE_S3_SECRET_KEY)")
		}
		switch s3.RetentionMode {
		case "", "GOVERNANCE", "COMPLIANCE":
		default:
			bad("storage.s3.retention_mode", s3.RetentionMode, "must be GOVERNANCE, COMPLIANCE or empty")
		}
		if s3.RetentionMode != "" && s3.RetentionDays < 1 {
			bad("storage.s3.retention_days", s3.RetentionDays, "must be at least 1 with a retention mode")
		}
	default:
		bad("storage.backend", c.Storage.Backend, "must be file or s3")
	}
	if c.Storage.Spool.MaxBytes < 1<<20 {
		bad("storage.spool.max_bytes", c.Storage.Spool.MaxBytes, "must be at least 1048576")
	}
	if err := c.Access.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Path returns p resolved against the data directory when it is relative.
func (c *Config) Path(p ...string) string {
	return filepath.Join(append([]string{c.DataDir}, p...)...)
}

// SpoolDir is where segments wait for the object store.
func (c *Config) SpoolDir() string {
	if c.Storage.Spool.Dir != "" {
		return c.Storage.Spool.Dir
	}
	return c.Path("spool")
}

// StoreDir is where the file backend keeps recordings.
func (c *Config) StoreDir() string {
	if c.Storage.File.Dir != "" {
		return c.Storage.File.Dir
	}
	return c.Path("store")
}

// Load reads the configuration: defaults, then the file at path (none if empty), then VIGIL_*
// environment variables, then the flags in fs that were set. The result is validated.
func Load(path string, fs *pflag.FlagSet) (Config, error) {
	v := viper.New()
	def := Default()
	setDefaults(v, def)
	v.SetEnvPrefix("VIGIL")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("config: read %s: %w", path, err)
		}
	}
	if fs != nil {
		if err := bindFlags(v, fs); err != nil {
			return Config{}, err
		}
	}
	var c Config
	if err := v.Unmarshal(&c, viper.DecodeHook(durationHook())); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}
