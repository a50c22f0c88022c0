package vigil_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/seed18fc72c3/vigil"

// allowed lists, for each top-level package of Vigil's, the top-level packages of ours it may import
// (its own sub-packages are always allowed). Data flows one way:
// proxy -> capture -> encode -> storage -> player (STYLE.md).
var allowed = map[string][]string{
	"capture":  {},
	"storage":  {},
	"vault":    {},
	"audit":    {},
	"access":   {"vault"},
	"proxy":    {"capture", "access", "vault"},
	"encode":   {"capture"},
	"index":    {"encode", "capture"},
	"player":   {"capture", "encode", "index"},
	"fixtures": {},
	"cmd":      {"*"},
}

func top(pkg string) string {
	rest := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	return strings.SplitN(rest, "/", 2)[0]
}

// TestImportDirections fails when a package imports one of ours that the table does not allow,
// directly or through another package.
func TestImportDirections(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked, problems := violations(string(out))
	for _, p := range problems {
		t.Error(p)
	}
	if checked < 5 {
		t.Fatalf("go list returned %d packages of ours; expected the whole tree", checked)
	}
}

// TestViolationsCatchesForbiddenImports keeps the checker itself honest.
func TestViolationsCatchesForbiddenImports(t *testing.T) {
	m := module + "/"
	tests := []struct {
		name, golist string
		want         int
	}{
		{"allowed", m + "proxy/ssh " + m + "capture " + m + "proxy/redact fmt", 0},
		{"capture imports storage", m + "capture " + m + "storage", 1},
		{"storage imports encode", m + "storage/file " + m + "encode/eventlog " + m + "capture", 2},
		{"someone imports proxy", m + "encode " + m + "proxy/ssh", 1},
		{"someone imports cmd", m + "index " + m + "cmd/config", 1},
		{"cmd imports everything", m + "cmd/vigil " + m + "proxy/ssh " + m + "player", 0},
		{"unknown top-level package", m + "newthing " + m + "capture", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := violations(tt.golist)
			if len(got) != tt.want {
				t.Errorf("violations(%q) = %q, want %d", tt.golist, got, tt.want)
			}
		})
	}
}

// violations reads `go list` lines (a package, then its dependencies) and returns how many of our
// packages it checked and every forbidden import.
func violations(golist string) (checked int, problems []string) {
	for _, line := range strings.Split(strings.TrimSpace(golist), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == module {
			continue // the root holds only this test
		}
		from := top(f[0])
		rules, ok := allowed[from]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: top-level package %q has no rule in deps_test.go", f[0], from))
			continue
		}
		checked++
		for _, dep := range f[1:] {
			if !strings.HasPrefix(dep, module+"/") {
				continue
			}
			to := top(dep)
			if to == from || contains(rules, "*") || contains(rules, to) {
				continue
			}
			problems = append(problems, fmt.Sprintf("%s imports %s: %s may import only %v", f[0], dep, from, rules))
		}
	}
	return checked, problems
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
