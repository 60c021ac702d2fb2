package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/sputnik-llm/sputnik/internal/web"
)

// csp is the chat page's Content-Security-Policy. Scripts come only from
// the binary (no inline script, no eval), and so do styles: KaTeX sets its
// sizes through the DOM's style properties, which style-src does not
// govern, so no 'unsafe-inline' is needed. Images are same-origin only, so
// model output cannot make the browser fetch (or leak data to) another
// site; fetch goes only to this server's API.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; " +
	"img-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'none'"

// uiFile is one embedded file with its response headers worked out once.
type uiFile struct {
	data         []byte
	contentType  string
	etag         string
	cacheControl string
}

// uiTypes are the content types of the page's files; a file with another
// extension is not served.
var uiTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".svg":   "image/svg+xml",
	".woff2": "font/woff2",
}

// loadUI reads the embedded page into memory. Paths under vendor/ carry
// their library's version, so they are cached for a year; the page's own
// files are revalidated (by ETag) on every load, so a new binary's page is
// seen at once.
func loadUI() map[string]*uiFile {
	files := make(map[string]*uiFile)
	err := fs.WalkDir(web.Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ctype, ok := uiTypes[path.Ext(p)]
		if !ok {
			return nil // licenses and READMEs stay in the source tree
		}
		data, err := fs.ReadFile(web.Files, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		f := &uiFile{data: data, contentType: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, cacheControl: "no-cache"}
		if strings.HasPrefix(p, "vendor/") {
			f.cacheControl = "public, max-age=31536000, immutable"
		}
		files[p] = f
		return nil
	})
	if err != nil {
		panic("server: reading the embedded web page: " + err.Error()) // the embed is part of the binary
	}
	return files
}

// handleUI serves the chat page at / and its files at their paths (New
// routes only those here).
func (s *Server) handleUI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" {
		name = "index.html"
	}
	f := s.ui[name]
	if f == nil || name == "index.html" && r.URL.Path != "/" {
		s.notFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "", "",
			r.Method+" "+r.URL.Path+": method not allowed (use GET)")
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", f.cacheControl)
	h.Set("ETag", f.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", csp)
	if name == "index.html" {
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
}
