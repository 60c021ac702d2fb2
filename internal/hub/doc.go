// Package hub is the model store and its downloads: it turns a name such as
// "unsloth/DeepSeek-R1-GGUF:UD-IQ1_S" (or ollama's "hf.co/owner/repo:QUANT")
// into GGUF files on disk.
//
// A Client speaks Hugging Face's public endpoints: the repository tree
// (GET {endpoint}/api/models/{repo}/tree/main?recursive=true, with sizes and
// the sha256 of every LFS file) and the file downloads
// (GET {endpoint}/{repo}/resolve/main/{path}). Downloads go to a ".partial"
// file, resume with HTTP Range requests after an interruption, are retried a
// bounded number of times when a connection drops, and are checked against
// their sha256 before they are moved into place.
//
// A Store is one directory (SPUTNIK_MODELS, default under the user cache
// directory) laid out as <owner>/<repo>/<path in the repo>, with one JSON
// manifest per pulled model under <owner>/<repo>/manifests/<QUANT>.json.
//
// In the layout of STYLE.md, hub sits beside server: it may import net/http
// and gguf; only cmd/sputnik imports it.
package hub
