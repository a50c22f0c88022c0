package redact

import "regexp"

// DefaultPrompt matches the password, passphrase, PIN and one-time-code prompts of common Unix
// tools and network devices: login, su, sudo ("[sudo] password for alice:"), passwd ("Current
// password:", "New password:", "Retype new password:"), ssh and ssh-add ("Enter passphrase for key
// '/root/.ssh/id_ed25519':"), ssh-keygen ("Enter passphrase (empty for no passphrase):"), git over
// https ("Password for 'https://alice@example.com':"), mysql -p ("Enter password:"), gpg, openssl
// ("Enter pass phrase for server.key:"), Cisco IOS login and enable ("Password:"), PINs and MFA
// codes ("Verification code:", "token:", "secret:").
//
// It is matched against the last output line after ANSI escape sequences and trailing spaces are
// removed, so it is anchored at the end: a line that merely mentions "Password:" in the middle of
// text, or that ends in anything but the prompt (a shell prompt "$ ", "password changed
// successfully"), does not match. Between the keyword and the final colon it allows a short
// qualifier without another line break ("for alice", "(again)", "for 'https://...'").
var DefaultPrompt = regexp.MustCompile(`(?i)(?:` +
	`pass ?(?:word|phrase|code)|\bpin|verification code|one[- ]time (?:password|code)|` +
	`\b(?:otp|token|secret)` +
	`)[^\r\n]{0,120}[:：]\s*$` +
	`|(?i)\benter (?:pass ?phrase|password|pin)\s*$`)
