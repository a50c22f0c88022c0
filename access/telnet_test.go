package access

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTelnetLoginValidate(t *testing.T) {
	base := Target{Name: "router1", Host: "10.0.0.1", Protocol: "telnet"}
	cases := []struct {
		name  string
		proto string
		tl    *TelnetLogin
		ok    bool
	}{
		{"none", "telnet", nil, true},
		{"empty", "ssh", &TelnetLogin{}, true},
		{"user prompt", "telnet", &TelnetLogin{UserPrompts: []string{"Benutzer:"}}, true},
		{"all", "telnet", &TelnetLogin{UserPrompts: []string{"id:"}, PasswordPrompts: []string{"Passcode:"},
			ShellPrompts: []string{"router1#"}, FailurePatterns: []string{"% Bad"}, LoginTimeout: 30 * time.Second}, true},
		{"on ssh", "ssh", &TelnetLogin{UserPrompts: []string{"login:"}}, false},
		{"on default protocol", "", &TelnetLogin{ShellPrompts: []string{"$"}}, false},
		{"blank pattern", "telnet", &TelnetLogin{PasswordPrompts: []string{"  "}}, false},
		{"control char", "telnet", &TelnetLogin{ShellPrompts: []string{"a\nb"}}, false},
		{"max length", "telnet", &TelnetLogin{ShellPrompts: []string{strings.Repeat("x", maxPromptLen)}}, true},
		{"too long", "telnet", &TelnetLogin{ShellPrompts: []string{strings.Repeat("x", maxPromptLen+1)}}, false},
		{"negative timeout", "telnet", &TelnetLogin{LoginTimeout: -time.Second}, false},
		{"max timeout", "telnet", &TelnetLogin{LoginTimeout: maxLoginTimeout}, true},
		{"timeout too long", "telnet", &TelnetLogin{LoginTimeout: maxLoginTimeout + time.Second}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := base
			tg.Protocol, tg.Telnet = c.proto, c.tl
			err := tg.validate()
			if c.ok && err != nil {
				t.Fatalf("validate: %v", err)
			}
			if !c.ok && !errors.Is(err, ErrInvalid) {
				t.Fatalf("validate = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestTelnetLoginStored checks the options survive the store's file and a reopen, and that a
// target without them reads back as nil (the defaults), not as an empty override.
func TestTelnetLoginStored(t *testing.T) {
	s, path := openStore(t, Config{})
	want := TelnetLogin{PasswordPrompts: []string{"Passcode:"}, ShellPrompts: []string{"router1#"}, LoginTimeout: 40 * time.Second}
	tl := want
	must(t, s.AddTarget(Target{Name: "router1", Host: "127.0.0.1", Protocol: "telnet", Telnet: &tl}))
	must(t, s.AddTarget(Target{Name: "router2", Host: "127.0.0.1", Protocol: "telnet"}))
	if err := s.AddTarget(Target{Name: "web01", Host: "127.0.0.1", Telnet: &TelnetLogin{UserPrompts: []string{"x"}}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("telnet options on an ssh target: %v, want ErrInvalid", err)
	}
	s2, err := OpenStore(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Target{}
	for _, tg := range s2.Targets() {
		got[tg.Name] = tg
	}
	r1 := got["router1"].Telnet
	if r1 == nil || r1.String() != want.String() || r1.LoginTimeout != want.LoginTimeout {
		t.Fatalf("router1 telnet options = %+v, want %+v", r1, want)
	}
	if got["router2"].Telnet != nil {
		t.Fatalf("router2 telnet options = %+v, want nil", got["router2"].Telnet)
	}
	if _, ok := got["web01"]; ok {
		t.Fatal("the invalid target was stored")
	}
}
