package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

// DefaultEndpoint is Hugging Face's address; HF_ENDPOINT overrides it (for
// mirrors).
const DefaultEndpoint = "https://huggingface.co"

// Errors a caller may branch on. Their messages are completed by the
// wrapping error (the repository, the available quantizations).
var (
	ErrNotFound = errors.New("no such model/quant")
	ErrGated    = errors.New("gated or private: set HF_TOKEN")
	ErrChecksum = errors.New("sha256 mismatch")
	ErrNoSpace  = errors.New("not enough free disk space")
)

// Client downloads from a Hugging Face compatible endpoint. The zero value
// is not usable; start from NewClient. A Client may be used by one pull at
// a time.
type Client struct {
	Endpoint string       // e.g. "https://huggingface.co", no trailing slash
	Token    string       // sent as "Authorization: Bearer TOKEN" when not empty
	HTTP     *http.Client // nil = http.DefaultClient

	// Retries is how many times a download is resumed after a dropped
	// connection or a 5xx answer before giving up; RetryWait is the pause
	// before the first retry (doubled each time, at most 30 s).
	Retries   int
	RetryWait time.Duration

	// StallTimeout cuts off a download whose server sends no byte (no
	// answer, or no body data) for this long; the download is then resumed
	// like a dropped connection. Zero means DefaultStallTimeout.
	StallTimeout time.Duration

	// Progress receives the progress line (nil: none). With TTY set it is
	// redrawn in place ("\r"), otherwise a line is written every few
	// seconds.
	Progress io.Writer
	TTY      bool
}

// NewClient returns a Client for HF_ENDPOINT (default DefaultEndpoint) with
// the token HF_TOKEN, 5 retries and a 1 s first wait.
func NewClient() *Client {
	ep := strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/")
	if ep == "" {
		ep = DefaultEndpoint
	}
	return &Client{Endpoint: ep, Token: os.Getenv("HF_TOKEN"), Retries: 5, RetryWait: time.Second}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// RemoteFile is one file of a repository as the tree API lists it.
type RemoteFile struct {
	Path   string // path inside the repository, '/'-separated
	Size   int64  // bytes
	SHA256 string // hex; "" for files not stored in LFS
}

// treeEntry is one element of the tree API's JSON array:
//
//	{"type": "file", "oid": "<git blob id>", "size": 123, "path": "a/b.gguf",
//	 "lfs": {"oid": "<sha256 hex>", "size": 123, "pointerSize": 134}}
//
// (huggingface.js packages/hub/src/lib/list-files.ts, ListFileEntry).
// encoding/json matches the lower-case keys to these fields without tags.
type treeEntry struct {
	Type string
	Path string
	Size int64
	LFS  *struct {
		Oid  string
		Size int64
	}
}

// maxTreeBytes bounds one page of the tree listing.
const maxTreeBytes = 64 << 20

// ListFiles returns every file of repo ("owner/repo") on the main branch,
// following the Link: <…>; rel="next" pagination of the tree API.
func (c *Client) ListFiles(ctx context.Context, repo string) ([]RemoteFile, error) {
	next := c.Endpoint + "/api/models/" + repo + "/tree/main?recursive=true"
	var files []RemoteFile
	for pages := 0; next != "" && pages < 1000; pages++ {
		req, err := http.NewRequestWithContext(ctx, "GET", next, nil)
		if err != nil {
			return nil, fmt.Errorf("hub: %w", err)
		}
		c.authorize(req)
		req.Header.Set("Accept", "application/json")
		resp, err := c.httpClient().Do(req)
		if err != nil {
			return nil, fmt.Errorf("hub: list %s: %w", repo, err)
		}
		if err := statusErr(resp, repo, ""); err != nil {
			resp.Body.Close()
			return nil, err
		}
		var entries []treeEntry
		err = json.NewDecoder(io.LimitReader(resp.Body, maxTreeBytes)).Decode(&entries)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("hub: list %s: reading the tree: %w", repo, err)
		}
		for _, e := range entries {
			if e.Type != "file" {
				continue
			}
			f := RemoteFile{Path: e.Path, Size: e.Size}
			if e.LFS != nil {
				f.SHA256 = strings.ToLower(e.LFS.Oid)
				if e.LFS.Size > 0 {
					f.Size = e.LFS.Size
				}
			}
			files = append(files, f)
		}
		next = nextLink(resp.Header.Get("Link"), next)
	}
	return files, nil
}

var linkNext = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="?next"?`)

// nextLink returns the rel="next" URL of a Link header, resolved against
// the current URL, or "".
func nextLink(h, cur string) string {
	m := linkNext.FindStringSubmatch(h)
	if m == nil {
		return ""
	}
	base, err := url.Parse(cur)
	if err != nil {
		return ""
	}
	u, err := base.Parse(m[1])
	if err != nil {
		return ""
	}
	return u.String()
}

func (c *Client) authorize(req *http.Request) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
}

// statusErr turns a failed response into an error naming repo (and file).
func statusErr(resp *http.Response, repo, file string) error {
	if resp.StatusCode < 300 {
		return nil
	}
	what := repo
	if file != "" {
		what = repo + "/" + file
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		return fmt.Errorf("hub: %s: %w", what, ErrNotFound)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("hub: %s: %w (and accept the model's terms on its page if it asks) (HTTP %d)", what, ErrGated, resp.StatusCode)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return &httpError{code: resp.StatusCode, msg: fmt.Sprintf("hub: %s: HTTP %s: %s", what, resp.Status, strings.TrimSpace(string(msg)))}
}

// httpError is an unexpected status; 5xx ones are retried.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

// Variant is one downloadable model of a repository: a single GGUF file or
// all parts of a split one.
type Variant struct {
	Quant string       // quantization tag read from the file name ("Q4_K_M"), or ""
	Files []RemoteFile // the parts in order
}

// Size returns the bytes of all parts.
func (v Variant) Size() int64 {
	var n int64
	for _, f := range v.Files {
		n += f.Size
	}
	return n
}

var (
	splitPart = regexp.MustCompile(`^(.*)-([0-9]{5})-of-([0-9]{5})\.gguf$`)
	quantTag  = regexp.MustCompile(`(?i)(?:^|[-._/])((?:UD-)?(?:I?Q[0-9]_[A-Z0-9]+(?:_[A-Z0-9]+)*|Q[0-9]_[0-9]|TQ[0-9]_[0-9]|MXFP4(?:_MOE)?|BF16|F16|F32))(?:$|[-._/])`)
)

// QuantOf returns the quantization tag in a GGUF file name or path, e.g.
// "Q4_K_M" for "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", or "".
func QuantOf(name string) string {
	name = strings.TrimSuffix(name, ".gguf")
	if m := splitPart.FindStringSubmatch(name + ".gguf"); m != nil {
		name = m[1]
	}
	all := quantTag.FindAllStringSubmatch(path.Base(name), -1)
	if all == nil {
		all = quantTag.FindAllStringSubmatch(name, -1)
	}
	if all == nil {
		return ""
	}
	return strings.ToUpper(all[len(all)-1][1])
}

// Variants groups the GGUF files of a repository listing into models: the
// parts of a split model (NAME-00001-of-00003.gguf, …) form one Variant.
// Multimodal projectors (names containing "mmproj") and importance matrices
// ("imatrix") are left out. The result is sorted by path.
func Variants(files []RemoteFile) []Variant {
	groups := map[string]*Variant{}
	var keys []string
	for _, f := range files {
		lower := strings.ToLower(f.Path)
		if !strings.HasSuffix(lower, ".gguf") || strings.Contains(lower, "mmproj") || strings.Contains(lower, "imatrix") {
			continue
		}
		key := f.Path
		if m := splitPart.FindStringSubmatch(f.Path); m != nil {
			key = m[1]
		}
		g, ok := groups[key]
		if !ok {
			g = &Variant{Quant: QuantOf(f.Path)}
			groups[key] = g
			keys = append(keys, key)
		}
		g.Files = append(g.Files, f)
	}
	sort.Strings(keys)
	out := make([]Variant, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		sort.Slice(g.Files, func(i, j int) bool { return g.Files[i].Path < g.Files[j].Path })
		out = append(out, *g)
	}
	return out
}

// defaultQuants is the order in which Choose picks a variant when no tag is
// given: the common 4-bit K-quant mix first, as ollama does.
var defaultQuants = []string{"Q4_K_M", "Q4_K_S", "Q5_K_M", "Q5_K_S", "Q6_K", "Q8_0", "Q4_0"}

// Choose picks the variant for quant. A tag matches a variant whose file
// name contains it case-insensitively, delimited by '-', '.', '_' boundaries
// or a directory ("Q4_K_M" matches "x-Q4_K_M.gguf" and
// "Q4_K_M/x-00001-of-00002.gguf"; "IQ1_S" matches "x-UD-IQ1_S.gguf"); when
// several match, the one whose own tag equals quant wins, then the shortest
// path. Without a tag the first of Q4_K_M, Q4_K_S, Q5_K_M, Q5_K_S, Q6_K,
// Q8_0, Q4_0 present is chosen, else the only variant, else the smallest.
// A tag that matches nothing is an ErrNotFound error listing the available
// tags.
func Choose(vs []Variant, quant string) (Variant, error) {
	if len(vs) == 0 {
		return Variant{}, fmt.Errorf("%w: the repository has no GGUF files", ErrNotFound)
	}
	if quant == "" {
		for _, q := range defaultQuants {
			if v, ok := match(vs, q); ok {
				return v, nil
			}
		}
		best := vs[0]
		for _, v := range vs[1:] {
			if v.Size() < best.Size() {
				best = v
			}
		}
		return best, nil
	}
	if v, ok := match(vs, quant); ok {
		return v, nil
	}
	return Variant{}, fmt.Errorf("%w %q (available: %s)", ErrNotFound, quant, strings.Join(Available(vs), ", "))
}

// Available returns the tags of vs (or their file names when a tag cannot
// be read), in order.
func Available(vs []Variant) []string {
	var out []string
	for _, v := range vs {
		if v.Quant != "" {
			out = append(out, v.Quant)
		} else {
			out = append(out, path.Base(v.Files[0].Path))
		}
	}
	return out
}

func match(vs []Variant, quant string) (Variant, bool) {
	q := strings.ToUpper(quant)
	var found []Variant
	for _, v := range vs {
		if v.Quant == q {
			found = append(found, v)
		}
	}
	if len(found) == 0 {
		for _, v := range vs {
			if containsTag(strings.ToUpper(v.Files[0].Path), q) {
				found = append(found, v)
			}
		}
	}
	if len(found) == 0 {
		return Variant{}, false
	}
	sort.SliceStable(found, func(i, j int) bool { return len(found[i].Files[0].Path) < len(found[j].Files[0].Path) })
	return found[0], true
}

// containsTag reports whether s contains tag with a boundary ('-', '.',
// '_', '/' or an end) on both sides.
func containsTag(s, tag string) bool {
	bound := func(b byte) bool { return b == '-' || b == '.' || b == '_' || b == '/' }
	for i := 0; ; {
		j := strings.Index(s[i:], tag)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(tag)
		if (j == 0 || bound(s[j-1])) && (end == len(s) || bound(s[end])) {
			return true
		}
		i = j + 1
	}
}
