package eventlog

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// synth makes a deterministic, realistic shell session of about dur: prompts, commands typed a
// byte per event at human speed and echoed, outputs like ls, ps, git log and dmesg, an editor
// session on the alternate screen, idle periods and a window resize.
type synth struct {
	rng  *rand.Rand
	now  time.Duration
	recs []Record
}

func synthSession(seed uint64, dur time.Duration) []Record {
	s := &synth{rng: newRand(seed)}
	s.out("Linux web01 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 x86_64\r\n\r\nLast login: Tue Mar  4 09:12:01 2025 from 10.1.2.3\r\n")
	for s.now < dur {
		s.prompt()
		switch s.rng.IntN(10) {
		case 0, 1:
			s.command("ls -la /var/log", s.lsOutput)
		case 2:
			s.command("ps aux", s.psOutput)
		case 3:
			s.command("git log --oneline -n 30", s.gitOutput)
		case 4:
			s.command("dmesg | tail -50", s.dmesgOutput)
		case 5:
			s.command("vim /etc/nginx/sites-enabled/default", s.editor)
		case 6:
			s.command("systemctl status nginx", s.statusOutput)
		case 7:
			s.idle(time.Duration(30+s.rng.IntN(240)) * time.Second)
		case 8:
			s.command("cd /srv/app && make test", s.testOutput)
		default:
			s.command("df -h", s.dfOutput)
		}
		if s.rng.IntN(40) == 0 {
			s.resize(uint16(80+s.rng.IntN(100)), uint16(24+s.rng.IntN(30)))
		}
	}
	return s.recs
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func (s *synth) add(typ uint8, p string) {
	s.recs = append(s.recs, Record{Time: s.now, Type: typ, Payload: []byte(p)})
}

func (s *synth) out(p string) { s.add(TypeOutput, p) }

func (s *synth) wait(min, spread time.Duration) {
	s.now += min + time.Duration(s.rng.Int64N(int64(spread)))
}

func (s *synth) idle(d time.Duration) { s.now += d }

func (s *synth) resize(cols, rows uint16) {
	p := binary.BigEndian.AppendUint16(nil, cols)
	p = binary.BigEndian.AppendUint16(p, rows)
	s.add(TypeResize, string(p))
}

func (s *synth) prompt() {
	s.wait(2*time.Millisecond, 20*time.Millisecond)
	s.out("\x1b[01;32malice@web01\x1b[00m:\x1b[01;34m/srv/app\x1b[00m$ ")
}

// command types cmd a keystroke at a time, each echoed by the remote shell, then prints output.
func (s *synth) command(cmd string, output func()) {
	s.wait(500*time.Millisecond, 3*time.Second) // thinking
	for _, c := range []byte(cmd) {
		s.wait(60*time.Millisecond, 180*time.Millisecond)
		s.add(TypeInput, string(c))
		s.now += time.Duration(200+s.rng.IntN(600)) * time.Microsecond
		s.out(string(c))
	}
	s.wait(80*time.Millisecond, 200*time.Millisecond)
	s.add(TypeInput, "\r")
	s.now += 300 * time.Microsecond
	s.out("\r\n")
	s.wait(5*time.Millisecond, 50*time.Millisecond)
	output()
}

// lines emits n generated lines in network-sized bursts.
func (s *synth) lines(n int, line func(i int) string) {
	var b strings.Builder
	for i := range n {
		b.WriteString(line(i))
		b.WriteString("\r\n")
		if b.Len() > 1400 || i == n-1 {
			s.out(b.String())
			b.Reset()
			s.now += time.Duration(100+s.rng.IntN(900)) * time.Microsecond
		}
	}
}

var words = []string{"nginx", "access", "error", "syslog", "auth", "kern", "daemon", "app", "worker",
	"postgres", "redis", "backup", "cron", "deploy", "metrics", "audit"}

func (s *synth) word() string { return words[s.rng.IntN(len(words))] }

func (s *synth) lsOutput() {
	n := 10 + s.rng.IntN(30)
	s.lines(n, func(i int) string {
		return fmt.Sprintf("-rw-r----- 1 root adm %8d Mar  %d %02d:%02d %s.log.%d", s.rng.IntN(1<<22),
			1+s.rng.IntN(9), s.rng.IntN(24), s.rng.IntN(60), s.word(), s.rng.IntN(5))
	})
}

func (s *synth) psOutput() {
	s.lines(60+s.rng.IntN(100), func(i int) string {
		return fmt.Sprintf("%-8s %6d %4.1f %4.1f %7d %6d ?        Ss   Mar03   %d:%02d /usr/sbin/%s -c /etc/%s.conf",
			[]string{"root", "www-data", "postgres", "alice"}[s.rng.IntN(4)], 100+i*7+s.rng.IntN(7),
			s.rng.Float64()*5, s.rng.Float64()*3, 10000+s.rng.IntN(900000), 1000+s.rng.IntN(90000),
			s.rng.IntN(10), s.rng.IntN(60), s.word(), s.word())
	})
}

func (s *synth) gitOutput() {
	s.lines(30, func(i int) string {
		return fmt.Sprintf("\x1b[33m%07x\x1b[m %s: fix %s handling in %s", s.rng.Uint32()&0xfffffff,
			s.word(), s.word(), s.word())
	})
}

func (s *synth) dmesgOutput() {
	t := 1000 + s.rng.Float64()*1e5
	s.lines(50, func(i int) string {
		t += s.rng.Float64() * 30
		return fmt.Sprintf("[%12.6f] %s: eth0: link up, 1000Mbps, full-duplex, lpa 0x%04X", t, s.word(), s.rng.IntN(1<<16))
	})
}

func (s *synth) statusOutput() {
	s.out("\x1b[0;1;32m●\x1b[0m nginx.service - A high performance web server\r\n     Loaded: loaded\r\n     Active: \x1b[0;1;32mactive (running)\x1b[0m since Mon 2025-03-03\r\n")
	s.lines(10, func(i int) string {
		return fmt.Sprintf("Mar 04 %02d:%02d:%02d web01 nginx[%d]: %s request from 10.0.%d.%d", s.rng.IntN(24), s.rng.IntN(60), s.rng.IntN(60), 1000+s.rng.IntN(9000), s.word(), s.rng.IntN(255), s.rng.IntN(255))
	})
}

func (s *synth) dfOutput() {
	s.out("Filesystem      Size  Used Avail Use% Mounted on\r\n")
	s.lines(6, func(i int) string {
		return fmt.Sprintf("/dev/sda%d        %dG  %dG   %dG  %d%% /%s", i+1, 20+s.rng.IntN(200), s.rng.IntN(20), s.rng.IntN(100), s.rng.IntN(100), s.word())
	})
}

func (s *synth) testOutput() {
	for range 3 + s.rng.IntN(8) {
		s.wait(200*time.Millisecond, 2*time.Second)
		s.out(fmt.Sprintf("ok  \tgithub.com/acme/app/%s\t%.3fs\r\n", s.word(), s.rng.Float64()*3))
	}
}

// editor opens a full-screen editor, moves about, types a line, saves and quits.
func (s *synth) editor() {
	var b strings.Builder
	b.WriteString("\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\x1b[H\x1b[2J")
	for i := range 22 {
		fmt.Fprintf(&b, "\x1b[%d;1H    \x1b[33m%s\x1b[m %s_%s on;", i+1, s.word(), s.word(), s.word())
	}
	b.WriteString("\x1b[24;1H\"default\" 22L, 640B\x1b[1;5H")
	s.out(b.String())
	for range 5 + s.rng.IntN(20) {
		s.wait(100*time.Millisecond, 400*time.Millisecond)
		s.add(TypeInput, "j")
		s.out(fmt.Sprintf("\x1b[%d;5H", 2+s.rng.IntN(20)))
	}
	s.add(TypeInput, "o")
	s.out("\x1b[24;1H\x1b[1m-- INSERT --\x1b[m\x1b[K\x1b[5;1H\x1b[L")
	for _, c := range []byte("    proxy_read_timeout 60s;") {
		s.wait(70*time.Millisecond, 150*time.Millisecond)
		s.add(TypeInput, string(c))
		s.out(string(c))
	}
	s.wait(300*time.Millisecond, time.Second)
	s.add(TypeInput, "\x1b")
	s.out("\x1b[24;1H\x1b[K\x1b[5;26H")
	for _, c := range []byte(":wq\r") {
		s.wait(80*time.Millisecond, 150*time.Millisecond)
		s.add(TypeInput, string(c))
	}
	s.out("\x1b[24;1H\"default\" 23L, 668B written\x1b[?1l\x1b>\x1b[?1049l")
}
