package redact

import (
	"regexp"
	"strings"
	"testing"
)

var promptCases = []struct {
	name string
	out  string
	want bool
}{
	{"login", "Debian GNU/Linux 12\r\n\r\nlogin: alice\r\nPassword: ", true},
	{"su", "alice@web01:~$ su -\r\nPassword: ", true},
	{"sudo", "alice@web01:~$ sudo -i\r\n[sudo] password for alice: ", true},
	{"sudo coloured", "\x1b[01;32malice@web01\x1b[00m:~$ sudo ls\r\n\x1b[1m[sudo] password for alice:\x1b[0m ", true},
	{"sudo retry", "[sudo] password for alice: \r\nSorry, try again.\r\n[sudo] password for alice: ", true},
	{"passwd current", "Changing password for alice.\r\nCurrent password: ", true},
	{"passwd old", "Old password: ", true},
	{"passwd new", "New password: ", true},
	{"passwd retype", "Retype new password: ", true},
	{"again", "Password (again): ", true},
	{"ssh key", "Enter passphrase for key '/home/alice/.ssh/id_ed25519': ", true},
	{"ssh-add", "Enter passphrase for /home/alice/.ssh/id_rsa: ", true},
	{"ssh-keygen", "Enter passphrase (empty for no passphrase): ", true},
	{"enter passphrase bare", "Enter passphrase", true},
	{"gpg", "Enter passphrase: ", true},
	{"openssl", "Enter pass phrase for server.key:", true},
	{"mysql", "$ mysql -u root -p\r\nEnter password: ", true},
	{"git https", "Password for 'https://alice@git.example.com': ", true},
	{"pin", "Enter PIN for 'PIV Card Holder pin (PIV_II)': ", true},
	{"pin short", "PIN:", true},
	{"verification code", "Verification code: ", true},
	{"token", "token: ", true},
	{"secret", "secret:", true},
	{"otp", "OTP: ", true},
	{"cisco login", "\r\nUser Access Verification\r\n\r\nUsername: admin\r\nPassword: ", true},
	{"cisco enable", "router>enable\r\nPassword: ", true},
	{"lf only", "x\nPassword:", true},
	{"trailing spaces and tabs", "Password:  \t ", true},
	{"osc title then prompt", "\x1b]0;alice@web01: ~\x07Password: ", true},
	{"osc st then prompt", "\x1b]2;title\x1b\\Password: ", true},
	{"cursor moves", "\x1b[2K\x1b[1GPassword:\x1b[K ", true},
	{"progress overwritten", "50%\r100%\rPassword: ", true},
	{"utf-8 before", "Mot de passe pour élodie — Password: ", true},

	{"changed", "passwd: password changed successfully\r\n", false},
	{"changed no newline", "passwd: password updated successfully", false},
	{"grep then shell", "$ grep password file.txt\r\nfile.txt:password: hunter2\r\nfile.txt:Password:\r\n$ ", false},
	{"mention in text", "The Password: field is required for every user", false},
	{"shell prompt", "alice@password-server:~$ ", false},
	{"root shell", "root@token01:/etc# ", false},
	{"empty", "", false},
	{"prompt then newline", "Password: \r\n", false},
	{"prompt then shell", "Password: \r\nsudo: 3 incorrect password attempts\r\n$ ", false},
	{"no keyword", "Username: ", false},
	{"coloured mention", "\x1b[31mpassword\x1b[0m expired", false},
	{"prompt in osc title only", "\x1b]0;Password:\x07$ ", false},
}

// feed gives out to t cut at the given positions.
func feed(t *Tracker, out string, cuts ...int) {
	prev := 0
	for _, c := range cuts {
		t.Output([]byte(out[prev:c]))
		prev = c
	}
	t.Output([]byte(out[prev:]))
}

func TestPrompts(t *testing.T) {
	for _, tc := range promptCases {
		t.Run(tc.name, func(t *testing.T) {
			whole := NewTracker(nil)
			feed(whole, tc.out)
			if got := whole.Secret(); got != tc.want {
				t.Fatalf("whole: Secret() = %v, want %v", got, tc.want)
			}
			// Every split into two chunks, including inside escapes and runes.
			for i := 0; i <= len(tc.out); i++ {
				tr := NewTracker(nil)
				feed(tr, tc.out, i)
				if got := tr.Secret(); got != tc.want {
					t.Fatalf("split at %d: Secret() = %v, want %v", i, got, tc.want)
				}
			}
			bytewise := NewTracker(nil)
			for i := 0; i < len(tc.out); i++ {
				bytewise.Output([]byte{tc.out[i]})
			}
			if got := bytewise.Secret(); got != tc.want {
				t.Fatalf("byte by byte: Secret() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestLongOutput covers chunks longer than the scanned window and lines longer than the kept tail.
func TestLongOutput(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want bool
	}{
		{"big chunk ends in prompt", strings.Repeat("log line\r\n", 5000) + "Password: ", true},
		{"big chunk ends in shell", strings.Repeat("Password: \r\n", 5000) + "$ ", false},
		{"long line ends in prompt", strings.Repeat("x", window*3) + " Password: ", true},
		{"long line then prompt line", strings.Repeat("\x1b[31mred\x1b[0m ", 500) + "\r\nPassword: ", true},
		{"long line without prompt", strings.Repeat("Password: ", 500) + "done", false},
		{"unterminated osc", "\x1b]0;" + strings.Repeat("t", 2*stringCap) + "\r\nPassword: ", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{1, 7, window - 1, window, window + 1, len(tc.out)} {
				tr := NewTracker(nil)
				for i := 0; i < len(tc.out); i += size {
					tr.Output([]byte(tc.out[i:min(i+size, len(tc.out))]))
				}
				if got := tr.Secret(); got != tc.want {
					t.Fatalf("chunks of %d: Secret() = %v, want %v", size, got, tc.want)
				}
			}
		})
	}
}

// step is one event in a session: output from the target, or input from the user with the
// Secret() the gateway sees just before handing that input to the tracker.
type step struct {
	out, in string
	secret  bool // for an input step
}

func TestSession(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"sudo enter", []step{
			{out: "$ "}, {in: "sudo -i\r", secret: false},
			{out: "sudo -i\r\n[sudo] password for alice: "},
			{in: "h", secret: true}, {in: "unter2", secret: true}, {in: "\r", secret: true},
			{out: "\r\n"}, {out: "root@web01:~# "}, {in: "id\r", secret: false},
		}},
		{"enter in same chunk", []step{
			{out: "Password: "}, {in: "hunter2\r", secret: true}, {in: "ls\r", secret: false},
		}},
		{"lf ends", []step{
			{out: "Password: "}, {in: "pw\n", secret: true}, {in: "ls", secret: false},
		}},
		{"ctrl-c ends", []step{
			{out: "Password: "}, {in: "pw", secret: true}, {in: "\x03", secret: true},
			{in: "ls", secret: false},
		}},
		{"ctrl-d ends", []step{
			{out: "Password: "}, {in: "\x04", secret: true}, {in: "x", secret: false},
		}},
		{"prompt still last line after enter", []step{
			{out: "Password: "}, {in: "pw\r", secret: true}, {in: "more", secret: false},
		}},
		{"pwfeedback stars stay secret", []step{
			{out: "[sudo] password for alice: "}, {in: "a", secret: true}, {out: "*"},
			{in: "b", secret: true}, {out: "*"}, {in: "\r", secret: true},
		}},
		{"echo means not secret", []step{
			{out: "Enter token: "}, {in: "a", secret: true}, {out: "a"},
			{in: "b", secret: false},
		}},
		{"echo of several keys", []step{
			{out: "Password: "}, {in: "ab", secret: true}, {out: "\x1b[1ma\x1b[0mb"},
			{in: "c", secret: false},
		}},
		{"other output is not echo", []step{
			{out: "Password: "}, {in: "a", secret: true}, {out: "b"}, {in: "b", secret: true},
		}},
		{"backspace disables echo detection", []step{
			{out: "Password: "}, {in: "a\x7f", secret: true}, {out: "a"}, {in: "b", secret: true},
		}},
		{"second prompt", []step{
			{out: "New password: "}, {in: "pw1\r", secret: true}, {out: "\r\nRetype new password: "},
			{in: "pw1\r", secret: true}, {out: "\r\npasswd: password updated successfully\r\n$ "},
			{in: "exit\r", secret: false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker(nil)
			for i, s := range tc.steps {
				if s.out != "" {
					tr.Output([]byte(s.out))
					continue
				}
				if got := tr.Secret(); got != s.secret {
					t.Fatalf("step %d (input %q): Secret() = %v, want %v", i, s.in, got, s.secret)
				}
				tr.Input([]byte(s.in))
			}
		})
	}
}

func TestTypedWipedAfterSecret(t *testing.T) {
	tr := NewTracker(nil)
	tr.Output([]byte("Password: "))
	tr.Input([]byte("hunter2"))
	tr.Input([]byte("\r"))
	if tr.typed != [typedCap]byte{} || tr.ntyped != 0 {
		t.Fatalf("typed secret kept after the secret ended: %q", tr.typed[:])
	}
}

func TestCustomPrompt(t *testing.T) {
	tr := NewTracker(regexp.MustCompile(`(?i)code>$`))
	tr.Output([]byte("\x1b[32mcode>\x1b[0m "))
	if !tr.Secret() {
		t.Fatal("custom prompt not detected")
	}
	tr2 := NewTracker(regexp.MustCompile(`(?i)code>$`))
	tr2.Output([]byte("Password: "))
	if tr2.Secret() {
		t.Fatal("default prompt used despite a custom one")
	}
}

func TestZeroAllocs(t *testing.T) {
	tr := NewTracker(nil)
	out := []byte("\x1b[1m[sudo] password for alice:\x1b[0m ")
	in := []byte("x\r")
	allocs := testing.AllocsPerRun(200, func() {
		tr.Output(out)
		tr.Secret()
		tr.Input(in)
	})
	if allocs != 0 {
		t.Fatalf("allocs per call = %v, want 0", allocs)
	}
}
