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
	Backend string      `mapstructure:"backend"` // "file"
	File    FileStorage `mapstructure:"file"`
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
		Recording: Recording{
			SegmentDuration: 5 * time.Second,
			SegmentBytes:    4 << 20,
			RingBytes:       1 << 20,
			StallTimeout:    10 * time.Second,
		},
		Storage: Storage{Backend: "file"},
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
	if _, err := c.Recording.EscrowRecipients(); err != nil {
		errs = append(errs, err)
	}
	switch c.Storage.Backend {
	case "file":
	default:
		bad("storage.backend", c.Storage.Backend, "must be file")
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
