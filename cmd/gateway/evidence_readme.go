package gateway

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/seed18fc72c3/vigil/cmd/nodekeys"
	"github.com/seed18fc72c3/vigil/storage/seal"
)

// ReadmeCommandPrefix starts every command line in README.txt: the lines are plain POSIX sh, run
// in order from the folder the bundle was unzipped into, so a test (and a careful recipient) can
// run exactly them.
const ReadmeCommandPrefix = "    $ "

// readme is README.txt of the bundle idx describes: how to check it with stock tools only
// (OpenSSH's ssh-keygen, coreutils' sha256sum, grep, cut, diff, and age to decrypt).
func readme(idx *BundleIndex) []byte {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	cmd := func(format string, a ...any) { p(ReadmeCommandPrefix+format, a...) }
	verify := func(signers, file string) string {
		return fmt.Sprintf("ssh-keygen -Y verify -f %s -I %s -n %s -s %s%s < %s",
			signers, nodekeys.SignerPrincipal, seal.Namespace, file, seal.SigSuffix, file)
	}
	p("Vigil evidence bundle (%s version %d)", BundleFormat, BundleVersion)
	p("Exported %s by %s. Segments: %s.", idx.Created.Format("2006-01-02 15:04:05 MST"), idx.Exporter, idx.Segments)
	p("")
	p("Sessions:")
	for _, s := range idx.Sessions {
		p("  %s  %s -> %s, started %s, %d segment(s), ended: %s", s.ID, s.User, s.Target, s.Start, s.Segments, s.EndCause)
	}
	p("")
	p("Each session's folder holds its manifests and their signatures exactly as the recording node")
	p("stored them, its segments, its lines of the audit log (audit.jsonl), and a playable copy: for a")
	p("terminal session an asciicast v2 file (session.cast, for asciinema) and player.html, a player")
	p("that works offline in any browser; for a graphical (VNC, RDP) session session.mp4, the video")
	p("segments (seg-N.mp4) joined into one H.264 MP4 that plays in any video player. A graphical")
	p("session's seg-N.vlog segments hold its keyboard and mouse events (printable keys withheld).")
	p("")
	p("The node's signing key is in allowed_signers; its fingerprint is %s.", idx.Signer)
	p("Compare it with the fingerprint the node's operator publishes (ssh-keygen -lf allowed_signers")
	p("prints it): a bundle re-signed with another key would otherwise verify too.")
	p("")
	p("Checking it with stock tools only (OpenSSH 8.2+, coreutils, grep, diff, age)")
	p("-------------------------------------------------------------------------")
	p("Lines starting with '$' are shell commands; run them in order from the folder you unzipped")
	p("the bundle into (unzip case.zip -d case && cd case). Each must succeed.")
	p("")
	p("1. The bundle's file list is signed by the node, and every file matches it:")
	cmd("%s", verify(nodekeys.AllowedSignersFile, bundleSums))
	cmd("sha256sum -c %s", bundleSums)
	p("")
	p("2. Each recording's manifests are signed by the node (final manifest, then each checkpoint):")
	for _, s := range idx.Sessions {
		cmd("cd %s", s.Dir)
		cmd("%s", verify("../"+nodekeys.AllowedSignersFile, seal.FinalName))
		cmd("(for m in manifest-*.json; do %s || exit 1; done)", strings.ReplaceAll(verify("../"+nodekeys.AllowedSignersFile, "$m"), "$m", `"$m"`))
		cmd("cd ..")
	}
	p("")
	p("3. Each segment's content is the one the signed manifest names. The manifest's \"sha256\" is of")
	p("the segment as the node sealed it (to the node's own key); this bundle carries the segment")
	p("re-encrypted for you, so the check is on the plaintext: \"plain_sha256\" in the manifest.")
	p("SHA256SUMS in the session's folder lists those hashes; first check it says what the manifest says:")
	for _, s := range idx.Sessions {
		cmd("cd %s", s.Dir)
		cmd(`grep -o '"plain_sha256": "[0-9a-f]*"' manifest.json | cut -d'"' -f4 > plain.txt`)
		cmd("cut -c1-64 SHA256SUMS | diff plain.txt -")
		switch idx.Segments {
		case ProtectRecipient:
			cmd(`(for f in seg-*.age; do age -d -i "$AGE_KEY" -o "${f%%.age}" "$f" || exit 1; done)`)
		case ProtectPassphrase:
			cmd(`(for f in seg-*.age; do age -d -o "${f%%.age}" "$f" || exit 1; done)`)
		}
		cmd("sha256sum -c SHA256SUMS")
		cmd("cd ..")
	}
	switch idx.Segments {
	case ProtectRecipient:
		p("(AGE_KEY is the file of the age identity for %s: AGE_KEY=~/my-age-key.txt)", strings.Join(idx.Recipients, ", "))
	case ProtectPassphrase:
		p("(age asks for the passphrase the bundle was exported with, once per segment.)")
	case ProtectClear:
		p("(This bundle was exported WITHOUT encryption, on explicit request; the export is in the audit log.)")
	}
	p("")
	p("4. The audit lines: each line of audit.jsonl carries its own hash and the previous line's hash")
	p("of the node's whole audit log; bundle.json records whether the whole log's chain held at export")
	p("(\"audit\" -> \"intact\": true). The lines are covered by step 1; `vigil verify` also recomputes")
	p("each line's own hash.")
	p("")
	p("All of it in one command, with Vigil: vigil verify case.zip [--identity KEYFILE]")
	return b.Bytes()
}
