package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vigil.yaml")
	yaml := "data_dir: /from/file\nssh:\n  listen: 127.0.0.1:3000\n  dial_timeout: 3s\nweb:\n  listen: 127.0.0.1:9000\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_SSH_LISTEN", "127.0.0.1:4000")
	t.Setenv("VIGIL_RECORDING_SEGMENT_BYTES", "8192")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("web-listen", "", "")
	if err := fs.Parse([]string{"--web-listen=127.0.0.1:5000"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file, fs)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"data_dir from file", c.DataDir, "/from/file"},
		{"ssh.listen from env over file", c.SSH.Listen, "127.0.0.1:4000"},
		{"web.listen from flag over file", c.Web.Listen, "127.0.0.1:5000"},
		{"log.level default", c.Log.Level, "info"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %q, want %q", ck.name, ck.got, ck.want)
		}
	}
	if c.SSH.DialTimeout != 3*time.Second {
		t.Errorf("ssh.dial_timeout = %v, want 3s", c.SSH.DialTimeout)
	}
	if c.Recording.SegmentBytes != 8192 {
		t.Errorf("recording.segment_bytes from env = %d, want 8192", c.Recording.SegmentBytes)
	}
}

func TestValidateNamesTheBadField(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		field  string
	}{
		{"empty data dir", func(c *Config) { c.DataDir = " " }, "data_dir"},
		{"log level", func(c *Config) { c.Log.Level = "loud" }, "log.level"},
		{"ssh listen", func(c *Config) { c.SSH.Listen = "2222" }, "ssh.listen"},
		{"web listen", func(c *Config) { c.Web.Listen = "localhost" }, "web.listen"},
		{"vnc listen", func(c *Config) { c.VNC.Listen = "5900" }, "vnc.listen"},
		{"vnc keys", func(c *Config) { c.VNC.Keys = "none" }, "vnc.keys"},
		{"ocr workers", func(c *Config) { c.OCR.Workers = 0 }, "ocr.workers"},
		{"ocr interval", func(c *Config) { c.OCR.Interval = time.Millisecond }, "ocr.interval"},
		{"vnc otp ttl", func(c *Config) { c.VNC.OTPTTL = 24 * time.Hour }, "vnc.otp_ttl"},
		{"segment bytes", func(c *Config) { c.Recording.SegmentBytes = 10 }, "recording.segment_bytes"},
		{"stall timeout", func(c *Config) { c.Recording.StallTimeout = 0 }, "recording.stall_timeout"},
		{"negative failure grace", func(c *Config) { c.Recording.FailureGrace = -time.Second }, "recording.failure_grace"},
		{"failure grace past the stall timeout", func(c *Config) {
			c.Recording.FailureGrace = c.Recording.StallTimeout + time.Millisecond
		}, "recording.failure_grace"},
		{"backend", func(c *Config) { c.Storage.Backend = "ftp" }, "storage.backend"},
		{"s3 without endpoint", func(c *Config) {
			c.Storage.Backend = "s3"
			c.Storage.S3 = S3Storage{Bucket: "b", AccessKey: "a", SecretKey: "s"}
		}, "storage.s3.endpoint"},
		{"s3 retention mode", func(c *Config) {
			c.Storage.Backend = "s3"
			c.Storage.S3 = S3Storage{Endpoint: "h:9000", Bucket: "b", AccessKey: "a", SecretKey: "s", RetentionMode: "forever", RetentionDays: 1}
		}, "storage.s3.retention_mode"},
		{"spool size", func(c *Config) { c.Storage.Spool.MaxBytes = 10 }, "storage.spool.max_bytes"},
		{"escrow recipient", func(c *Config) { c.Recording.Recipients = []string{"not-a-key"} }, "recording.recipients[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate() = %v, want a FieldError for %s", err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("message %q does not name %s", err, tt.field)
			}
		})
	}
}

func TestLoadRejectsBadFileAndBadValue(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "absent.yaml"), nil); err == nil {
		t.Error("Load of an absent file succeeded")
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("log:\n  level: shouty\n"), 0o600)
	_, err := Load(bad, nil)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "log.level" || fe.Value != "shouty" {
		t.Errorf("Load(bad level) = %v, want FieldError log.level=shouty", err)
	}
	t.Setenv("VIGIL_SSH_DIAL_TIMEOUT", "soon")
	if _, err := Load("", nil); err == nil || !strings.Contains(err.Error(), "dial_timeout") {
		t.Errorf("Load with VIGIL_SSH_DIAL_TIMEOUT=soon = %v, want an error naming dial_timeout", err)
	}
}
