//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open pts: %v", err)
	}
	return m, s
}

// TestRunLineEditor chats on a pseudo-terminal as a user would: a typo
// mended with the arrow keys (which must edit, not insert "^[[D"), the
// history recalled with the up arrow, an answer, and Ctrl-C at the prompt,
// which leaves with errInterrupted (exit code 130).
func TestRunLineEditor(t *testing.T) {
	p := testutil.SharedFile(t, "golden/models/qwen2-tiny-f32.gguf")
	master, tty := openPTY(t)
	defer master.Close()
	var screen syncBuffer
	go io.Copy(&screen, master)
	var errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runChat([]string{"-m", p, "-n", "4", "--temp", "0"}, tty, tty, &errb)
		tty.Close()
	}()
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s; screen:\n%q\nstderr:\n%s", what, screen.String(), errb.String())
			}
		}
	}
	send := func(s string) { master.Write([]byte(s)) }

	wait("the prompt", func() bool { return strings.Contains(screen.String(), ">>> ") })
	send("/show sytem")
	send("\x1b[D\x1b[D\x1b[D") // three times left: before "tem"
	send("s\r")                // "/show system"
	wait("the first /show", func() bool { return strings.Count(screen.String(), "No system prompt is set.") == 1 })
	send("\x1b[A\r") // the same line again from the history
	wait("the second /show", func() bool { return strings.Count(screen.String(), "No system prompt is set.") == 2 })
	send("Hello\r")
	wait("an answer", func() bool { return strings.Contains(errb.String(), "[4 tokens") })
	wait("the next prompt", func() bool { return strings.HasSuffix(strings.TrimRight(screen.String(), " "), ">>>") })
	send("\x03")
	select {
	case err := <-done:
		if !errors.Is(err, errInterrupted) {
			t.Errorf("Ctrl-C at the prompt: got %v, want errInterrupted", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Ctrl-C at the prompt did not end the chat")
	}
	if s := screen.String(); strings.Contains(s, "^[") || strings.Contains(s, "[D[D") {
		t.Errorf("escape sequences shown as text:\n%q", s)
	}
}
