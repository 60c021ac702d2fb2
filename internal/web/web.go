// Package web is the chat page that sputnik serve shows at /: our own
// index.html, app.js (the page), chats.js (conversations: storage, export,
// import), markdown.js (rendering and sanitising) and style.css, plus pinned
// copies of the libraries they use under vendor/ (marked, DOMPurify,
// highlight.js, KaTeX; see vendor/README.md). The page talks only to the
// OpenAI-style API (/v1/models, /v1/chat/completions), so it needs nothing
// else from the server; internal/server adds the headers
// (Content-Security-Policy, content types, caching).
//
// There is no build step: the files are served exactly as they are here.
package web

import "embed"

// Files holds the page's files, at the paths the page asks for ("index.html",
// "app.js", "vendor/katex-0.19.1/katex.min.js", …). It is read-only and safe
// for concurrent use.
//
//go:embed index.html app.js chats.js markdown.js style.css icon.svg vendor
var Files embed.FS
