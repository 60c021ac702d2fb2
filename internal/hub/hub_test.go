package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/tensor"
)

// fakeHub speaks the two Hugging Face endpoints the Client uses:
//
//	GET /api/models/{owner}/{repo}/tree/main?recursive=true  JSON list, paginated with Link
//	GET /{owner}/{repo}/resolve/main/{path}                  the bytes, with Range support
//
// It can drop a connection in the middle of a body, list a wrong sha256,
// and require a token for a gated repository.
type fakeHub struct {
	t     *testing.T
	repos map[string]map[string][]byte // repo -> path -> content
	gated map[string]bool
	token string

	mu       sync.Mutex
	badSHA   map[string]bool // repo/path listed with a wrong sha256
	dropOnce map[string]int  // repo/path: drop the connection after this many body bytes, once per entry
	dropAll  map[string]int  // repo/path: drop every time
	ranges   []string        // Range headers seen, "repo/path bytes=…"
	auth     []string        // Authorization headers seen
	paths    []string        // request paths seen
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.auth = append(h.auth, r.Header.Get("Authorization"))
	h.paths = append(h.paths, r.URL.Path)
	h.mu.Unlock()
	p := strings.TrimPrefix(r.URL.Path, "/")
	if rest, ok := strings.CutPrefix(p, "api/models/"); ok {
		repo, ok := strings.CutSuffix(rest, "/tree/main")
		if !ok || r.URL.Query().Get("recursive") != "true" {
			http.NotFound(w, r)
			return
		}
		h.tree(w, r, repo)
		return
	}
	parts := strings.SplitN(p, "/", 5) // owner, repo, "resolve", "main", path
	if len(parts) != 5 || parts[2] != "resolve" || parts[3] != "main" {
		http.NotFound(w, r)
		return
	}
	repo, file := parts[0]+"/"+parts[1], parts[4]
	if !h.allowed(w, r, repo) {
		return
	}
	data, ok := h.repos[repo][file]
	if !ok {
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	key := repo + "/" + file
	h.mu.Lock()
	if rg := r.Header.Get("Range"); rg != "" {
		h.ranges = append(h.ranges, key+" "+rg)
	}
	cut, drop := h.dropAll[key]
	if !drop && r.Header.Get("Range") == "" {
		if cut, drop = h.dropOnce[key]; drop {
			delete(h.dropOnce, key)
		}
	}
	h.mu.Unlock()
	if drop && (r.Header.Get("Range") == "" || cut == 0) {
		// Promise the whole file, send part of it, then cut the connection.
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:cut])
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	http.ServeContent(w, r, file, time.Time{}, bytes.NewReader(data))
}

func (h *fakeHub) allowed(w http.ResponseWriter, r *http.Request, repo string) bool {
	if _, ok := h.repos[repo]; !ok {
		// Hugging Face answers 401 for repositories it will not show.
		http.Error(w, `{"error":"Repository not found"}`, http.StatusNotFound)
		return false
	}
	if h.gated[repo] && r.Header.Get("Authorization") != "Bearer "+h.token {
		http.Error(w, `{"error":"Access to model is restricted"}`, http.StatusUnauthorized)
		return false
	}
	return true
}

// tree lists a repository two entries per page, with a directory entry as
// the real API has.
func (h *fakeHub) tree(w http.ResponseWriter, r *http.Request, repo string) {
	if !h.allowed(w, r, repo) {
		return
	}
	type lfs struct {
		Oid         string `json:"oid"`
		Size        int    `json:"size"`
		PointerSize int    `json:"pointerSize"`
	}
	type entry struct {
		Type string `json:"type"`
		Oid  string `json:"oid"`
		Size int    `json:"size"`
		Path string `json:"path"`
		LFS  *lfs   `json:"lfs,omitempty"`
	}
	var all []entry
	dirs := map[string]bool{}
	for p, data := range h.repos[repo] {
		if d := filepath.Dir(p); d != "." && !dirs[d] {
			dirs[d] = true
			all = append(all, entry{Type: "directory", Oid: "0", Path: d})
		}
		e := entry{Type: "file", Oid: "1234", Size: len(data), Path: p}
		if strings.HasSuffix(p, ".gguf") {
			sum := sha256.Sum256(data)
			oid := hex.EncodeToString(sum[:])
			h.mu.Lock()
			if h.badSHA[repo+"/"+p] {
				oid = strings.Repeat("0", 64)
			}
			h.mu.Unlock()
			e.LFS = &lfs{Oid: oid, Size: len(data), PointerSize: 134}
		}
		all = append(all, e)
	}
	sortEntries := func(i, j int) bool { return all[i].Path < all[j].Path }
	sortSlice(all, sortEntries)
	page := 0
	fmt.Sscan(r.URL.Query().Get("cursor"), &page)
	lo, hi := 2*page, min(2*page+2, len(all))
	if hi < len(all) {
		w.Header().Set("Link", fmt.Sprintf(`<%s?recursive=true&cursor=%d>; rel="next"`, r.URL.Path, page+1))
	}
	json.NewEncoder(w).Encode(all[lo:hi])
}

func sortSlice[T any](s []T, less func(i, j int) bool) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && less(j, j-1); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// tinyGGUF returns a GGUF file with llama metadata (2 layers, 4 heads, 2 KV
// heads, d64, context 512) and one tensor of n random bytes (as I8).
func tinyGGUF(t *testing.T, n int, seed uint64) []byte {
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "llama")
	w.AddKV("llama.block_count", uint32(2))
	w.AddKV("llama.embedding_length", uint32(64))
	w.AddKV("llama.attention.head_count", uint32(4))
	w.AddKV("llama.attention.head_count_kv", uint32(2))
	w.AddKV("llama.context_length", uint32(512))
	data := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	w.AddTensor("blob", tensor.I8, []uint64{uint64(n)}, data)
	var b bytes.Buffer
	if _, err := w.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func newFake(t *testing.T) (*fakeHub, *Client, *Store) {
	h := &fakeHub{
		t: t,
		repos: map[string]map[string][]byte{
			"acme/tiny-GGUF": {
				"tiny-Q4_K_M.gguf":                   tinyGGUF(t, 300_000, 1),
				"tiny-Q8_0.gguf":                     tinyGGUF(t, 500_000, 2),
				"README.md":                          []byte("# tiny\n"),
				"Q2_K/tiny-Q2_K-00001-of-00003.gguf": tinyGGUF(t, 1000, 3),
				"Q2_K/tiny-Q2_K-00002-of-00003.gguf": tinyGGUF(t, 2000, 4),
				"Q2_K/tiny-Q2_K-00003-of-00003.gguf": tinyGGUF(t, 3000, 5),
			},
			"acme/gated-GGUF": {"g-Q4_0.gguf": tinyGGUF(t, 1000, 6)},
		},
		gated:    map[string]bool{"acme/gated-GGUF": true},
		token:    "hf_secret",
		badSHA:   map[string]bool{},
		dropOnce: map[string]int{},
		dropAll:  map[string]int{},
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := &Client{Endpoint: srv.URL, HTTP: srv.Client(), Retries: 3, RetryWait: time.Millisecond}
	diskFree = func(string) int64 { return 1 << 40 }
	t.Cleanup(func() { diskFree = freeDisk })
	return h, c, &Store{Dir: t.TempDir()}
}

func fileSHA(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPullListFindRemove(t *testing.T) {
	h, c, s := newFake(t)
	ctx := context.Background()
	var log bytes.Buffer
	m, err := s.Pull(ctx, c, Name{"acme", "tiny-GGUF", ""}, PullOptions{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "acme/tiny-GGUF:Q4_K_M" || m.Quant != "Q4_K_M" || len(m.Files) != 1 || m.Size != int64(len(h.repos["acme/tiny-GGUF"]["tiny-Q4_K_M.gguf"])) {
		t.Fatalf("manifest %+v", m)
	}
	p, err := s.Resolve("acme/tiny-GGUF")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fileSHA(t, p), m.Files[0].SHA256; got != want || want == "" {
		t.Fatalf("stored file sha256 %s, manifest %s", got, want)
	}
	if !strings.Contains(log.String(), "pulling acme/tiny-GGUF:Q4_K_M: 1 file(s)") {
		t.Errorf("log: %q", log.String())
	}

	// A split model: every part, in its directory; opened from part 1.
	m2, err := s.Pull(ctx, c, Name{"acme", "tiny-GGUF", "q2_k"}, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m2.Files) != 3 || m2.Quant != "Q2_K" {
		t.Fatalf("split manifest %+v", m2)
	}
	for _, f := range m2.Files {
		if _, err := os.Stat(filepath.Join(s.Dir, "acme", "tiny-GGUF", f.Path)); err != nil {
			t.Error(err)
		}
	}
	p2, _ := s.Resolve("hf.co/acme/tiny-GGUF:Q2_K")
	if !strings.HasSuffix(p2, filepath.FromSlash("Q2_K/tiny-Q2_K-00001-of-00003.gguf")) {
		t.Errorf("Resolve split = %s", p2)
	}
	// Two quants pulled: the bare name still means Q4_K_M (the default order).
	if p3, err := s.Resolve("acme/tiny-GGUF"); err != nil || p3 != p {
		t.Errorf("Resolve bare = %s, %v; want %s", p3, err, p)
	}
	ms, _ := s.List()
	if len(ms) != 2 || ms[0].Name != "acme/tiny-GGUF:Q2_K" || ms[1].Name != "acme/tiny-GGUF:Q4_K_M" {
		t.Fatalf("List: %v", ms)
	}
	// A second pull downloads nothing.
	h.mu.Lock()
	h.paths = nil
	h.mu.Unlock()
	if _, err := s.Pull(ctx, c, Name{"acme", "tiny-GGUF", "Q4_K_M"}, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range h.paths {
		if !strings.HasPrefix(p, "/api/models/") {
			t.Errorf("re-pull requested %s; want only the listing (4 pages)", p)
		}
	}

	if _, err := s.Remove(Name{"acme", "tiny-GGUF", "Q2_K"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "acme", "tiny-GGUF", "Q2_K")); !os.IsNotExist(err) {
		t.Errorf("Q2_K directory left: %v", err)
	}
	if _, err := s.Resolve("acme/tiny-GGUF:Q2_K"); !errors.Is(err, ErrNotPulled) {
		t.Errorf("after rm: %v", err)
	}
	if _, err := s.Remove(Name{"acme", "tiny-GGUF", ""}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "acme")); !os.IsNotExist(err) {
		t.Errorf("store not empty after removing everything: %v", err)
	}
}

func TestPullResumesDroppedConnection(t *testing.T) {
	h, c, s := newFake(t)
	h.dropOnce["acme/tiny-GGUF/tiny-Q8_0.gguf"] = 123_457
	var prog bytes.Buffer
	c.Progress = &prog
	m, err := s.Pull(context.Background(), c, Name{"acme", "tiny-GGUF", "Q8_0"}, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.ranges) != 2 || h.ranges[1] != "acme/tiny-GGUF/tiny-Q8_0.gguf bytes=123457-" {
		t.Errorf("Range requests: %q (the first is the fit check's header read)", h.ranges)
	}
	p, _ := s.Path(m)
	if fileSHA(t, p) != m.Files[0].SHA256 {
		t.Error("resumed file differs")
	}
	if !strings.Contains(prog.String(), "resuming at 120.6 KiB") || !strings.Contains(prog.String(), "100%") {
		t.Errorf("progress output: %q", prog.String())
	}
}

func TestPullResumesPartialFile(t *testing.T) {
	h, c, s := newFake(t)
	data := h.repos["acme/tiny-GGUF"]["tiny-Q8_0.gguf"]
	dir := filepath.Join(s.Dir, "acme", "tiny-GGUF")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, "tiny-Q8_0.gguf.partial"), data[:200_000], 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	m, err := s.Pull(context.Background(), c, Name{"acme", "tiny-GGUF", "Q8_0"}, PullOptions{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.ranges) != 2 || h.ranges[1] != "acme/tiny-GGUF/tiny-Q8_0.gguf bytes=200000-" {
		t.Errorf("Range requests: %q (the first is the fit check's header read)", h.ranges)
	}
	if !strings.Contains(log.String(), "left to download") {
		t.Errorf("log: %q", log.String())
	}
	p, _ := s.Path(m)
	if fileSHA(t, p) != m.Files[0].SHA256 {
		t.Error("resumed file differs")
	}
	if _, err := os.Stat(p + ".partial"); !os.IsNotExist(err) {
		t.Error("partial file left behind")
	}
}

func TestPullGivesUpAfterRetries(t *testing.T) {
	h, c, s := newFake(t)
	// Every answer is cut before its first byte.
	h.dropAll["acme/tiny-GGUF/tiny-Q8_0.gguf"] = 0
	c.Retries = 2
	_, err := s.Pull(context.Background(), c, Name{"acme", "tiny-GGUF", "Q8_0"}, PullOptions{})
	if err == nil || !strings.Contains(err.Error(), "connection dropped") && !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("got %v, want a dropped-connection error", err)
	}
}

func TestPullChecksumMismatch(t *testing.T) {
	h, c, s := newFake(t)
	h.badSHA["acme/tiny-GGUF/tiny-Q4_K_M.gguf"] = true
	_, err := s.Pull(context.Background(), c, Name{"acme", "tiny-GGUF", ""}, PullOptions{})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("got %v, want ErrChecksum", err)
	}
	dir := filepath.Join(s.Dir, "acme", "tiny-GGUF")
	for _, f := range []string{"tiny-Q4_K_M.gguf", "tiny-Q4_K_M.gguf.partial"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s exists after a checksum mismatch", f)
		}
	}
	if ms, _ := s.List(); len(ms) != 0 {
		t.Errorf("manifest written: %v", ms)
	}
}

func TestPullErrors(t *testing.T) {
	_, c, s := newFake(t)
	ctx := context.Background()
	_, err := s.Pull(ctx, c, Name{"acme", "nothing", ""}, PullOptions{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no such model/quant") {
		t.Errorf("unknown repo: %v", err)
	}
	_, err = s.Pull(ctx, c, Name{"acme", "tiny-GGUF", "IQ2_XXS"}, PullOptions{})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "(available: Q2_K, Q4_K_M, Q8_0)") {
		t.Errorf("unknown quant: %v", err)
	}
	_, err = s.Pull(ctx, c, Name{"acme", "gated-GGUF", ""}, PullOptions{})
	if !errors.Is(err, ErrGated) || !strings.Contains(err.Error(), "gated or private: set HF_TOKEN") {
		t.Errorf("gated: %v", err)
	}
	c.Token = "hf_secret"
	if _, err := s.Pull(ctx, c, Name{"acme", "gated-GGUF", ""}, PullOptions{}); err != nil {
		t.Errorf("gated with token: %v", err)
	}
}

func TestPullFitCheck(t *testing.T) {
	_, c, s := newFake(t)
	diskFree = func(string) int64 { return 1000 }
	var log bytes.Buffer
	_, err := s.Pull(context.Background(), c, Name{"acme", "tiny-GGUF", "Q8_0"}, PullOptions{Log: &log})
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("got %v, want ErrNoSpace naming --force", err)
	}
	if !strings.Contains(log.String(), "warning: the download needs 488.6 KiB but only 1000 B is free") {
		t.Errorf("log: %q", log.String())
	}
	if _, err := s.Pull(context.Background(), c, Name{"acme", "tiny-GGUF", "Q8_0"}, PullOptions{Force: true}); err != nil {
		t.Fatalf("--force: %v", err)
	}
}

func TestFitWarnings(t *testing.T) {
	f := Fit{ModelBytes: 10 << 30, KVBytes: 1 << 30, Context: 4096, MemBytes: 8 << 30, MemSource: "RAM", DownloadBytes: 10 << 30, FreeDisk: 20 << 30}
	w := f.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "the model (10.0 GiB + 1.0 GiB KV cache for 4096 tokens) is larger than the memory this process may use (8.0 GiB, RAM)") {
		t.Errorf("got %q", w)
	}
	f.MemBytes = 64 << 30
	if w := f.Warnings(); len(w) != 0 || !f.DiskOK() {
		t.Errorf("fits: got %q", w)
	}
}

func TestKVPerToken(t *testing.T) {
	meta, err := gguf.ParseMetadata(tinyGGUF(t, 100, 1)[:400])
	if err != nil {
		t.Fatal(err)
	}
	// 2 bytes × 2 layers × 2 KV heads × (16 + 16).
	if got, ctx := kvPerToken(meta); got != 256 || ctx != 512 {
		t.Errorf("got %d bytes/token, ctx %d; want 256, 512", got, ctx)
	}
	w := gguf.NewWriter()
	w.AddKV("general.architecture", "deepseek2")
	w.AddKV("deepseek2.block_count", uint32(61))
	w.AddKV("deepseek2.attention.head_count", uint32(128))
	w.AddKV("deepseek2.attention.kv_lora_rank", uint32(512))
	w.AddKV("deepseek2.rope.dimension_count", uint32(64))
	var b bytes.Buffer
	w.WriteTo(&b)
	meta, err = gguf.ParseMetadata(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := kvPerToken(meta); got != 70272 {
		t.Errorf("deepseek2 671B shape: got %d bytes/token, want 70272", got)
	}
}
