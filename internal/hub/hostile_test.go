package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPullHostileNames serves listings whose file names try to escape the
// model store and checks that each pull is refused before anything is
// written, inside or outside the store.
func TestPullHostileNames(t *testing.T) {
	for i, name := range []string{
		"../evil-Q4_0.gguf",
		"sub/../../evil-Q4_0.gguf",
		"/tmp/evil-Q4_0.gguf",
		`..\evil-Q4_0.gguf`,
		`sub\..\..\evil-Q4_0.gguf`,
		"evil\x00-Q4_0.gguf",
		"evil\n-Q4_0.gguf",
		"evil\x1b[2J-Q4_0.gguf",
		"./evil-Q4_0.gguf",
		"sub//evil-Q4_0.gguf",
		strings.Repeat("a", 300) + "-Q4_0.gguf",
		strings.Repeat("d/", 600) + "evil-Q4_0.gguf",
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			h, c, _ := newFake(t)
			h.repos["acme/evil-GGUF"] = map[string][]byte{name: tinyGGUF(t, 1000, 9)}
			outer := t.TempDir()
			s := &Store{Dir: filepath.Join(outer, "store")}
			_, err := s.Pull(context.Background(), c, Name{"acme", "evil-GGUF", "Q4_0"}, PullOptions{})
			if err == nil {
				t.Fatalf("%q: pulled", name)
			}
			if !strings.Contains(err.Error(), "unsafe file path") && !errors.Is(err, ErrNotFound) {
				t.Errorf("%q: got %v, want an unsafe-path refusal", name, err)
			}
			assertOnly(t, outer, "store")
		})
	}
}

// assertOnly fails if dir holds any entry besides allowed (which may be
// absent) and, under it, any file.
func assertOnly(t *testing.T, dir, allowed string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if rel != allowed && !strings.HasPrefix(rel, allowed+string(filepath.Separator)) {
			t.Errorf("written outside the store: %s", p)
		} else if !d.IsDir() {
			t.Errorf("file written: %s", p)
		}
		return nil
	})
}

// TestPullRefusesSymlinks plants symbolic links in the store (the repo
// directory, a subdirectory, the partial file) pointing outside it: the
// pull must refuse and write nothing through them.
func TestPullRefusesSymlinks(t *testing.T) {
	for _, tc := range []struct{ name, link string }{
		{"repo dir", "acme/tiny-GGUF"},
		{"owner dir", "acme"},
		{"subdir", "acme/tiny-GGUF/Q2_K"},
		{"partial file", "acme/tiny-GGUF/tiny-Q4_K_M.gguf.partial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c, _ := newFake(t)
			outside := t.TempDir()
			target := filepath.Join(outside, "target")
			if strings.HasSuffix(tc.link, ".partial") {
				os.WriteFile(target, nil, 0o644)
			} else {
				os.Mkdir(target, 0o755)
			}
			s := &Store{Dir: t.TempDir()}
			link := filepath.Join(s.Dir, filepath.FromSlash(tc.link))
			os.MkdirAll(filepath.Dir(link), 0o755)
			if err := os.Symlink(target, link); err != nil {
				t.Skip("no symlinks:", err)
			}
			quant := "Q4_K_M"
			if tc.name == "subdir" {
				quant = "Q2_K"
			}
			_, err := s.Pull(context.Background(), c, Name{"acme", "tiny-GGUF", quant}, PullOptions{})
			if err == nil || !strings.Contains(err.Error(), "symbolic link") {
				t.Errorf("got %v, want a symbolic-link refusal", err)
			}
			filepath.WalkDir(outside, func(p string, d os.DirEntry, err error) error {
				if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Size() > 0 {
					t.Errorf("written outside the store: %s (%d bytes)", p, st.Size())
				}
				if err == nil && d.IsDir() && p != outside && p != target {
					t.Errorf("directory made outside the store: %s", p)
				}
				return nil
			})
		})
	}
}

// hostileServer lists one file of size listed and answers its download
// with body (then, if stall, nothing until the client gives up).
func hostileServer(t *testing.T, listed int, body func(w http.ResponseWriter, r *http.Request)) *Client {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/models/acme/x-GGUF/tree/main", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `[{"type":"file","path":"x-Q4_0.gguf","size":%d}]`, listed)
	})
	mux.HandleFunc("/acme/x-GGUF/resolve/main/x-Q4_0.gguf", body)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	diskFree = func(string) int64 { return 1 << 40 }
	t.Cleanup(func() { diskFree = freeDisk })
	return &Client{Endpoint: srv.URL, HTTP: srv.Client(), Retries: 1, RetryWait: time.Millisecond, StallTimeout: 200 * time.Millisecond}
}

// TestPullEndlessBody: a server that sends bytes without end is cut off
// at the listed size; the file holds exactly that many bytes.
func TestPullEndlessBody(t *testing.T) {
	c := hostileServer(t, 4096, func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1<<16)
		for i := 0; i < 1<<14; i++ { // up to 1 GiB, unless the client hangs up
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	})
	s := &Store{Dir: t.TempDir()}
	m, err := s.Pull(context.Background(), c, Name{"acme", "x-GGUF", "Q4_0"}, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path(m)
	if st, err := os.Stat(p); err != nil || st.Size() != 4096 {
		t.Fatalf("file: %v, %v; want 4096 bytes", st, err)
	}
}

// TestPullStall: a server that answers and then stops sending (or never
// answers) is cut off after StallTimeout with a clear error, and the
// file is not made usable.
func TestPullStall(t *testing.T) {
	for _, headers := range []bool{true, false} {
		c := hostileServer(t, 4096, func(w http.ResponseWriter, r *http.Request) {
			if headers {
				if rg := r.Header.Get("Range"); rg != "" { // resume: answer properly, then stall
					start := strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-")
					w.Header().Set("Content-Range", "bytes "+start+"-4095/4096")
					w.WriteHeader(http.StatusPartialContent)
				} else {
					w.Header().Set("Content-Length", "4096")
					w.Write(make([]byte, 100))
				}
				w.(http.Flusher).Flush()
			}
			<-r.Context().Done()
		})
		s := &Store{Dir: t.TempDir()}
		done := make(chan error, 1)
		go func() {
			_, err := s.Pull(context.Background(), c, Name{"acme", "x-GGUF", "Q4_0"}, PullOptions{})
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, errStalled) || !strings.Contains(err.Error(), "no data for") {
				t.Errorf("headers %v: got %v, want a stall error", headers, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("headers %v: the pull did not give up", headers)
		}
		if _, err := s.Find(Name{"acme", "x-GGUF", "Q4_0"}); err == nil {
			t.Errorf("headers %v: a stalled file was recorded as pulled", headers)
		}
	}
}
