package gateway

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/seed18fc72c3/vigil/proxy/desktop"
	"github.com/seed18fc72c3/vigil/proxy/rdp"
	proxyssh "github.com/seed18fc72c3/vigil/proxy/ssh"
	"github.com/seed18fc72c3/vigil/proxy/vnc"
)

// internalAddr stands for what a cause's text may carry and the browser must not see.
const internalAddr = "10.9.8.7"

// TestEndReasonsHideDetail: the end reason a browser is given names the class of the cause (and
// the auditor's words when terminated), never the detail wrapped in it.
func TestEndReasonsHideDetail(t *testing.T) {
	detail := fmt.Errorf("dial tcp %s:22: connection refused", internalAddr)
	terms := []struct {
		cause error
		want  string
	}{
		{nil, "session ended"},
		{fmt.Errorf("%w: %w", proxyssh.ErrUpstream, detail), "cannot reach the target"},
		{fmt.Errorf("%w: %w", proxyssh.ErrTargetClosed, detail), "target closed the connection"},
		{fmt.Errorf("%w: %w", proxyssh.ErrRecordingFailure, detail), "recording failed, session ended"},
		{&proxyssh.TerminatedError{By: "carol", Reason: "enough"}, "session terminated by carol: enough"},
		{detail, "session ended"},
	}
	for _, tc := range terms {
		if got := endReason(tc.cause); got != tc.want || strings.Contains(got, internalAddr) {
			t.Errorf("endReason(%v) = %q, want %q", tc.cause, got, tc.want)
		}
	}
	desks := []struct {
		cause error
		want  string
	}{
		{nil, ""},
		{desktop.ErrUserExit, "ended by user"},
		{&desktop.TerminatedError{By: "carol", Reason: "enough"}, "terminated by carol: enough"},
		{fmt.Errorf("%w: %w", desktop.ErrRecordingFailure, detail), "recording failure, session ended"},
		{desktop.ErrShutdown, "gateway shutting down"},
		{fmt.Errorf("%w: %w", desktop.ErrTargetClosed, detail), "target closed the connection"},
		{fmt.Errorf("%w: %w", desktop.ErrTargetClosed, fmt.Errorf("%w at %s", rdp.ErrLogon, internalAddr)), "logon to the target failed"},
		{fmt.Errorf("connect %s: %w", internalAddr, vnc.ErrAuthFailed), "logon to the target failed"},
		{fmt.Errorf("%w: %s", rdp.ErrAuth, internalAddr), "logon to the target failed"},
		{errors.New(internalAddr + " exploded"), "session ended"},
	}
	for _, tc := range desks {
		if got := DesktopEndCause(tc.cause); got != tc.want || strings.Contains(got, internalAddr) {
			t.Errorf("DesktopEndCause(%v) = %q, want %q", tc.cause, got, tc.want)
		}
	}
}
