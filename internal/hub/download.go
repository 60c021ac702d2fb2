package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

// Download fetches file f of repo into dst. The bytes go to dst+".partial";
// an existing partial file is resumed with a Range request (its bytes are
// hashed again first), a dropped connection or a 5xx answer is resumed up
// to c.Retries times, and when the file is complete its sha256 (when the
// tree listed one) and size are checked before it is renamed to dst. A
// mismatch deletes the partial file and returns an ErrChecksum error.
func (c *Client) Download(ctx context.Context, repo string, f RemoteFile, dst string) error {
	partial := dst + ".partial"
	fh, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer fh.Close()
	h := sha256.New()
	have, err := io.Copy(h, fh) // hash what an earlier run left
	if err != nil {
		return fmt.Errorf("hub: reading %s: %w", partial, err)
	}
	if have > f.Size {
		// Longer than the file: start over.
		if err := restart(fh, h); err != nil {
			return err
		}
		have = 0
	}
	p := newProgress(c, path.Base(f.Path), f.Size, have)
	wait := c.RetryWait
	best := have // the most bytes ever held: only growth past it resets the retry budget
	for attempt := 0; have < f.Size; attempt++ {
		n, err := c.fetch(ctx, repo, f, fh, h, have, p)
		have += n
		if err == nil {
			continue
		}
		if errors.Is(err, errRestart) {
			if attempt >= c.Retries {
				p.done(false)
				return fmt.Errorf("hub: %s/%s: %w, %d times", repo, f.Path, err, attempt+1)
			}
			have = 0
			if err := restart(fh, h); err != nil {
				return err
			}
			continue
		}
		if !retryable(err) || attempt >= c.Retries || ctx.Err() != nil {
			p.done(false)
			return err
		}
		if have > best {
			best = have
			attempt = 0 // progress was made: the budget is for consecutive failures
		}
		p.note(fmt.Sprintf("%v; resuming at %s", err, humanBytes(have)))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			p.done(false)
			return ctx.Err()
		}
		wait = min(2*wait, 30*time.Second)
	}
	p.done(true)
	if f.SHA256 != "" {
		if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
			fh.Close()
			os.Remove(partial)
			return fmt.Errorf("hub: %s/%s: %w: got %s, want %s (the partial download was deleted)", repo, f.Path, ErrChecksum, got, f.SHA256)
		}
	}
	if err := fh.Sync(); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := os.Rename(partial, dst); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// DefaultStallTimeout is Client.StallTimeout's default.
const DefaultStallTimeout = 60 * time.Second

func (c *Client) stallTimeout() time.Duration {
	if c.StallTimeout > 0 {
		return c.StallTimeout
	}
	return DefaultStallTimeout
}

// errStalled says the server sent nothing for Client.StallTimeout.
var errStalled = errors.New("download stalled")

// errRestart says the server answered a Range request with the whole file.
var errRestart = errors.New("server ignored the Range request; starting over")

func restart(fh *os.File, h hash.Hash) error {
	h.Reset()
	if err := fh.Truncate(0); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// retryable reports whether err is worth resuming: anything but a 4xx
// answer, a checksum mismatch or a local I/O error.
func retryable(err error) bool {
	var he *httpError
	if errors.As(err, &he) {
		return he.code >= 500 || he.code == http.StatusTooManyRequests
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrGated) || errors.Is(err, ErrChecksum) {
		return false
	}
	var le *localError
	return !errors.As(err, &le)
}

// localError wraps a failed write to the partial file.
type localError struct{ err error }

func (e *localError) Error() string { return "hub: writing: " + e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// fetch requests f from byte offset have on and appends the body to fh and
// h. It returns the bytes appended.
func (c *Client) fetch(ctx context.Context, repo string, f RemoteFile, fh *os.File, h hash.Hash, have int64, p *progress) (n int64, err error) {
	// A watchdog cancels the request when no byte arrives for stall.
	stall := c.stallTimeout()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchdog := time.AfterFunc(stall, func() { cancel(errStalled) })
	defer watchdog.Stop()
	defer func() {
		if err != nil && errors.Is(context.Cause(ctx), errStalled) {
			err = fmt.Errorf("hub: %s/%s: no data for %v at %s: %w", repo, f.Path, stall, humanBytes(have+n), errStalled)
		}
	}()
	u := c.Endpoint + "/" + repo + "/resolve/main/" + escapePath(f.Path)
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return 0, fmt.Errorf("hub: %w", err)
	}
	c.authorize(req)
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, fmt.Errorf("hub: %s/%s: %w", repo, f.Path, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have == f.Size:
		return 0, nil
	case have > 0 && resp.StatusCode == http.StatusOK:
		return 0, errRestart
	case have > 0 && resp.StatusCode == http.StatusPartialContent:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != have {
			return 0, fmt.Errorf("hub: %s/%s: Content-Range %q does not start at %d", repo, f.Path, resp.Header.Get("Content-Range"), have)
		}
	default:
		if err := statusErr(resp, repo, f.Path); err != nil {
			return 0, err
		}
	}
	// Copy at most the bytes the file still lacks.
	w := &countingWriter{fh: fh, h: h, p: p, onWrite: func() { watchdog.Reset(stall) }}
	n, err = io.Copy(w, io.LimitReader(resp.Body, f.Size-have))
	if w.err != nil {
		return n, &localError{w.err}
	}
	if err != nil {
		return n, fmt.Errorf("hub: %s/%s: connection dropped after %s: %w", repo, f.Path, humanBytes(have+n), err)
	}
	if have+n < f.Size {
		return n, fmt.Errorf("hub: %s/%s: body ended at %s of %s: %w", repo, f.Path, humanBytes(have+n), humanBytes(f.Size), io.ErrUnexpectedEOF)
	}
	return n, nil
}

// rangeStart parses the first byte of "bytes START-END/TOTAL".
func rangeStart(h string) (int64, bool) {
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// escapePath escapes each segment of a repository path for a URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = urlPathEscape(s)
	}
	return strings.Join(parts, "/")
}

// countingWriter appends to the partial file, the hash and the progress
// line; it keeps a write error apart from a read error of the body.
type countingWriter struct {
	fh      *os.File
	h       hash.Hash
	p       *progress
	onWrite func() // called with every chunk of body data
	err     error
}

func (w *countingWriter) Write(b []byte) (int, error) {
	if w.onWrite != nil {
		w.onWrite()
	}
	n, err := w.fh.Write(b)
	w.h.Write(b[:n])
	w.p.add(int64(n))
	if err != nil {
		w.err = err
	}
	return n, err
}
