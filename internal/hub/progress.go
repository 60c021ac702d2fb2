package hub

import (
	"fmt"
	"io"
	"net/url"
	"time"
)

// progress draws one download's progress: bytes, rate and ETA, at most
// every 200 ms on a terminal (redrawn in place) and every 5 s otherwise.
type progress struct {
	w         io.Writer
	tty       bool
	name      string
	total     int64
	have      int64
	startHave int64
	start     time.Time
	last      time.Time
	now       func() time.Time
}

func newProgress(c *Client, name string, total, have int64) *progress {
	p := &progress{w: c.Progress, tty: c.TTY, name: name, total: total, have: have, startHave: have, now: time.Now}
	p.start = p.now()
	return p
}

func (p *progress) interval() time.Duration {
	if p.tty {
		return 200 * time.Millisecond
	}
	return 5 * time.Second
}

func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.have += n
	if p.w == nil {
		return
	}
	if t := p.now(); t.Sub(p.last) >= p.interval() {
		p.last = t
		p.draw("")
	}
}

// line formats the current state.
func (p *progress) line() string {
	el := p.now().Sub(p.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.have-p.startHave) / el
	}
	eta := "--:--"
	if rate > 0 && p.total >= p.have {
		eta = clock(time.Duration(float64(p.total-p.have) / rate * float64(time.Second)))
	}
	pct := 100.0
	if p.total > 0 {
		pct = 100 * float64(p.have) / float64(p.total)
	}
	return fmt.Sprintf("%s  %s / %s  %3.0f%%  %s/s  ETA %s", p.name, humanBytes(p.have), humanBytes(p.total), pct, humanBytes(int64(rate)), eta)
}

func (p *progress) draw(end string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K%s", p.line(), end)
	} else {
		fmt.Fprintf(p.w, "%s\n", p.line())
	}
}

// note prints a message (a retry) on its own line.
func (p *progress) note(msg string) {
	if p.w == nil {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K")
	}
	fmt.Fprintf(p.w, "%s: %s\n", p.name, msg)
}

// done draws the final state and ends the line.
func (p *progress) done(ok bool) {
	if p.w == nil {
		return
	}
	if p.tty {
		p.draw("\n")
		return
	}
	if ok {
		p.draw("")
	}
}

// clock formats d as H:MM:SS or M:SS.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// humanBytes formats n with a binary unit ("1.5 GiB").
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 5 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[i])
}

// HumanBytes formats n bytes with a binary unit, as the progress line does.
func HumanBytes(n int64) string { return humanBytes(n) }

func urlPathEscape(s string) string { return url.PathEscape(s) }
