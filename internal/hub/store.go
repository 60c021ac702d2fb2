package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Store is the model store: one directory holding
//
//	<owner>/<repo>/<path in the repo>          the GGUF files (every part)
//	<owner>/<repo>/manifests/<QUANT>.json      one Manifest per pulled model
//
// Methods may be called from one process at a time per model.
type Store struct {
	Dir string
}

// DefaultDir returns the store directory: $SPUTNIK_MODELS, or
// os.UserCacheDir()/sputnik/models.
func DefaultDir() (string, error) {
	if d := os.Getenv("SPUTNIK_MODELS"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("hub: no store directory (set SPUTNIK_MODELS): %w", err)
	}
	return filepath.Join(c, "sputnik", "models"), nil
}

// OpenStore returns the Store at DefaultDir. The directory is created by
// the first pull.
func OpenStore() (*Store, error) {
	d, err := DefaultDir()
	if err != nil {
		return nil, err
	}
	return &Store{Dir: d}, nil
}

// Manifest describes one pulled model. It is stored as JSON.
type Manifest struct {
	Name   string         `json:"name"`   // "owner/repo:QUANT"
	Source string         `json:"source"` // the repository's URL
	Quant  string         `json:"quant"`  // "Q4_K_M", or "DEFAULT" when the file name has no tag
	Files  []ManifestFile `json:"files"`  // the parts in order; the first is the one to open
	Size   int64          `json:"size"`   // bytes of all parts
	Pulled time.Time      `json:"pulled"` // when the pull completed
}

// ManifestFile is one file of a Manifest.
type ManifestFile struct {
	Path   string `json:"path"` // relative to <owner>/<repo>, '/'-separated
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
}

// defaultTag names a pulled variant whose file name has no quantization tag.
const defaultTag = "DEFAULT"

func (s *Store) repoDir(n Name) string { return filepath.Join(s.Dir, n.Owner, n.Repo) }

func (s *Store) manifestPath(n Name, quant string) string {
	return filepath.Join(s.repoDir(n), "manifests", quant+".json")
}

// Path returns the file to open for m (its first part).
func (s *Store) Path(m *Manifest) (string, error) {
	n, err := ParseName(m.Name)
	if err != nil || len(m.Files) == 0 {
		return "", fmt.Errorf("hub: bad manifest %q", m.Name)
	}
	return filepath.Join(s.repoDir(n), filepath.FromSlash(m.Files[0].Path)), nil
}

// PullOptions are the options of Store.Pull.
type PullOptions struct {
	Force bool      // download even when the fit check finds too little disk space
	Log   io.Writer // the plan, fit-check warnings; nil = discard
}

// Pull downloads model n through c unless the store has it complete
// already, and returns its manifest. Before downloading it prints the plan
// and the fit check's warnings to opt.Log, and refuses (ErrNoSpace) when
// the disk is too small unless opt.Force is set.
func (s *Store) Pull(ctx context.Context, c *Client, n Name, opt PullOptions) (*Manifest, error) {
	log := opt.Log
	if log == nil {
		log = io.Discard
	}
	n.Quant = strings.ToUpper(n.Quant)
	files, err := c.ListFiles(ctx, n.RepoID())
	if err != nil {
		return nil, err
	}
	v, err := Choose(Variants(files), n.Quant)
	if err != nil {
		return nil, fmt.Errorf("hub: %s: %w", n.RepoID(), err)
	}
	for _, f := range v.Files {
		if !safePath(f.Path) {
			return nil, fmt.Errorf("hub: %s: unsafe file path %q in the listing", n.RepoID(), f.Path)
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("hub: %s: file %q listed with size %d", n.RepoID(), f.Path, f.Size)
		}
	}
	quant := n.Quant
	if quant == "" {
		quant = v.Quant
	}
	if quant == "" {
		quant = defaultTag
	}
	dir := s.repoDir(n)
	if err := noSymlinks(s.Dir, dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	var download int64
	for _, f := range v.Files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Path))
		if st, err := os.Stat(dst); err == nil && st.Size() == f.Size {
			continue
		}
		download += f.Size
		if st, err := os.Stat(dst + ".partial"); err == nil && st.Size() <= f.Size {
			download -= st.Size()
		}
	}
	name := n.RepoID() + ":" + quant
	fmt.Fprintf(log, "pulling %s: %d file(s), %s", name, len(v.Files), humanBytes(v.Size()))
	if download < v.Size() {
		fmt.Fprintf(log, " (%s left to download)", humanBytes(download))
	}
	fmt.Fprintln(log)
	if download > 0 {
		fit := c.checkFit(ctx, n.RepoID(), v, download, dir)
		for _, w := range fit.Warnings() {
			fmt.Fprintf(log, "warning: %s\n", w)
		}
		if !fit.DiskOK() && !opt.Force {
			return nil, fmt.Errorf("hub: %s: %w (%s needed, %s free; use --force to try anyway)", name, ErrNoSpace, humanBytes(download), humanBytes(fit.FreeDisk))
		}
	}
	m := &Manifest{Name: name, Source: c.Endpoint + "/" + n.RepoID(), Quant: quant, Size: v.Size()}
	for _, f := range v.Files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Path))
		m.Files = append(m.Files, ManifestFile{Path: f.Path, Size: f.Size, SHA256: f.SHA256})
		if st, err := os.Stat(dst); err == nil && st.Size() == f.Size {
			continue
		}
		if err := noSymlinks(s.Dir, dst); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, fmt.Errorf("hub: %w", err)
		}
		if err := c.Download(ctx, n.RepoID(), f, dst); err != nil {
			return nil, err
		}
	}
	m.Pulled = time.Now().UTC()
	if err := s.writeManifest(n, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Limits on repository paths from a listing (which the hub's owner
// chooses): bytes of the whole path and of one component.
const (
	maxPathBytes      = 1024
	maxComponentBytes = 255
)

// safePath reports whether a repository path from a listing is safe to
// write under the model store: relative, without "..", ".", empty
// components or backslashes, free of NUL and control characters, and of
// bounded length.
func safePath(p string) bool {
	if p == "" || len(p) > maxPathBytes || path.IsAbs(p) || strings.Contains(p, "\\") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." || len(part) > maxComponentBytes {
			return false
		}
	}
	return true
}

// noSymlinks fails if any existing component of dst below root, or dst's
// ".partial" file, is a symbolic link: a link planted in the store could
// otherwise make a download write outside it.
func noSymlinks(root, dst string) error {
	rel, err := filepath.Rel(root, dst)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("hub: %s is outside the store %s", dst, root)
	}
	cur := root
	parts := strings.Split(rel, string(filepath.Separator))
	check := func(p string) error {
		st, err := os.Lstat(p)
		if err == nil && st.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("hub: %s is a symbolic link; refusing to write through it", p)
		}
		return nil
	}
	for _, part := range parts {
		cur = filepath.Join(cur, part)
		if err := check(cur); err != nil {
			return err
		}
	}
	return check(dst + ".partial")
}

func (s *Store) writeManifest(n Name, m *Manifest) error {
	p := s.manifestPath(n, m.Quant)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// maxManifestBytes bounds a manifest file.
const maxManifestBytes = 1 << 20

func readManifest(p string) (*Manifest, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(fh, maxManifestBytes)).Decode(&m); err != nil {
		return nil, fmt.Errorf("hub: manifest %s: %w", p, err)
	}
	if _, err := ParseName(m.Name); err != nil || len(m.Files) == 0 {
		return nil, fmt.Errorf("hub: manifest %s: bad name or no files", p)
	}
	for _, f := range m.Files {
		if !safePath(f.Path) {
			return nil, fmt.Errorf("hub: manifest %s: unsafe path %q", p, f.Path)
		}
	}
	return &m, nil
}

// List returns the manifests of every pulled model, sorted by name.
// Unreadable manifests are skipped.
func (s *Store) List() ([]*Manifest, error) {
	paths, err := filepath.Glob(filepath.Join(s.Dir, "*", "*", "manifests", "*.json"))
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	var out []*Manifest
	for _, p := range paths {
		if m, err := readManifest(p); err == nil {
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ErrNotPulled is returned by Find and Remove for a model the store does
// not have.
var ErrNotPulled = errors.New("not in the model store")

// Find returns the manifest of n. Without a tag, the repository's only
// pulled model is meant; with several, the first of the default order
// (Q4_K_M, …); otherwise the error lists them. A tag matches the stored
// tag exactly, else as Choose matches file names.
func (s *Store) Find(n Name) (*Manifest, error) {
	var ms []*Manifest
	paths, _ := filepath.Glob(filepath.Join(s.repoDir(n), "manifests", "*.json"))
	for _, p := range paths {
		if m, err := readManifest(p); err == nil {
			ms = append(ms, m)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("hub: %s: %w (sputnik pull %s)", n, ErrNotPulled, n)
	}
	byQuant := func(q string) *Manifest {
		for _, m := range ms {
			if m.Quant == q {
				return m
			}
		}
		return nil
	}
	if n.Quant == "" {
		if len(ms) == 1 {
			return ms[0], nil
		}
		for _, q := range defaultQuants {
			if m := byQuant(q); m != nil {
				return m, nil
			}
		}
	} else {
		if m := byQuant(n.Quant); m != nil {
			return m, nil
		}
		for _, m := range ms {
			if containsTag(strings.ToUpper(m.Files[0].Path), n.Quant) {
				return m, nil
			}
		}
	}
	var have []string
	for _, m := range ms {
		have = append(have, m.Quant)
	}
	if n.Quant == "" {
		return nil, fmt.Errorf("hub: %s: several quantizations pulled (%s): name one", n, strings.Join(have, ", "))
	}
	return nil, fmt.Errorf("hub: %s: %w (pulled: %s)", n, ErrNotPulled, strings.Join(have, ", "))
}

// Resolve returns the file to open for the store name s.
func (s *Store) Resolve(name string) (string, error) {
	n, err := ParseName(name)
	if err != nil {
		return "", err
	}
	m, err := s.Find(n)
	if err != nil {
		return "", err
	}
	return s.Path(m)
}

// Remove deletes model n's files, partial downloads and manifest, then any
// directories left empty. Files another manifest of the same repository
// lists are kept.
func (s *Store) Remove(n Name) (*Manifest, error) {
	m, err := s.Find(n)
	if err != nil {
		return nil, err
	}
	dir := s.repoDir(n)
	keep := map[string]bool{}
	paths, _ := filepath.Glob(filepath.Join(dir, "manifests", "*.json"))
	for _, p := range paths {
		if o, err := readManifest(p); err == nil && o.Quant != m.Quant {
			for _, f := range o.Files {
				keep[f.Path] = true
			}
		}
	}
	if err := os.Remove(s.manifestPath(n, m.Quant)); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	for _, f := range m.Files {
		if keep[f.Path] {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		for _, q := range []string{p, p + ".partial"} {
			if err := os.Remove(q); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("hub: %w", err)
			}
		}
		removeEmptyDirs(filepath.Dir(p), s.Dir)
	}
	removeEmptyDirs(filepath.Join(dir, "manifests"), s.Dir)
	return m, nil
}

// removeEmptyDirs removes dir and its parents while they are empty, up to
// (not including) root.
func removeEmptyDirs(dir, root string) {
	root = filepath.Clean(root)
	for d := filepath.Clean(dir); d != root && strings.HasPrefix(d, root+string(filepath.Separator)); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			return
		}
	}
}
