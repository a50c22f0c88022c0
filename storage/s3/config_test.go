package s3

import (
	"errors"
	"strings"
	"testing"

	"github.com/seed18fc72c3/vigil/storage"
)

func TestConfigValidate(t *testing.T) {
	good := Config{Endpoint: "127.0.0.1:9000", Bucket: "b", AccessKey: "a", SecretKey: "Zq9SecretZq9"}
	tests := []struct {
		name  string
		edit  func(*Config)
		field string // "" means valid; otherwise a word the error must contain
	}{
		{"good", func(*Config) {}, ""},
		{"governance", func(c *Config) { c.Retention = Retention{Governance, 1} }, ""},
		{"compliance", func(c *Config) { c.Retention = Retention{Compliance, 3650} }, ""},
		{"prefix", func(c *Config) { c.Prefix = "vigil/prod/" }, ""},
		{"tags", func(c *Config) { c.Tags = map[string]string{"env": "prod"} }, ""},
		{"no endpoint", func(c *Config) { c.Endpoint = "" }, "endpoint"},
		{"scheme", func(c *Config) { c.Endpoint = "https://s3.example.com" }, "endpoint"},
		{"no bucket", func(c *Config) { c.Bucket = "" }, "bucket"},
		{"no secret", func(c *Config) { c.SecretKey = "" }, "secret key"},
		{"prefix without slash", func(c *Config) { c.Prefix = "vigil" }, "prefix"},
		{"prefix dotdot", func(c *Config) { c.Prefix = "../" }, "prefix"},
		{"days without mode", func(c *Config) { c.Retention.Days = 5 }, "days"},
		{"mode without days", func(c *Config) { c.Retention.Mode = Governance }, "days"},
		{"lower-case mode", func(c *Config) { c.Retention = Retention{"governance", 1} }, "mode"},
		{"reserved tag", func(c *Config) { c.Tags = map[string]string{TagLegalHold: "on"} }, "reserved"},
		{"bad tag", func(c *Config) { c.Tags = map[string]string{"k": "a\x00"} }, "tags"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("Validate = %v, want an error naming %q", err, tt.field)
			}
			if c.SecretKey != "" && strings.Contains(err.Error(), c.SecretKey) {
				t.Errorf("error shows the secret key: %v", err)
			}
		})
	}
	if err := (Config{Endpoint: "h", Bucket: "b", AccessKey: "a", SecretKey: "s", Prefix: "a b/"}).Validate(); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("bad prefix = %v, want ErrInvalidKey", err)
	}
}
