package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/server/openai"
)

// DefaultMaxBody is the default limit on a request body (Config.MaxBody).
const DefaultMaxBody = 8 << 20

// Config configures a Server. The zero value serves without an API key.
type Config struct {
	// APIKey, when set, is required as "Authorization: Bearer KEY" on
	// /v1/ endpoints (/health and /metrics stay open, for probes and
	// scrapers).
	APIKey string
	// MaxBody bounds request bodies in bytes (default DefaultMaxBody);
	// larger bodies get 413.
	MaxBody int64
	// WriteTimeout bounds each write to a client (default 30 s): a client
	// that stops reading its stream for that long is disconnected, which
	// cancels its request.
	WriteTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers (default 10 s)
	// and ReadTimeout reading its headers and body together (default
	// 2 min): a client that sends either too slowly is dropped (a body
	// too slow gets 408). Neither limits how long a response may stream.
	// IdleTimeout closes a keep-alive connection idle that long (default
	// 2 min). They configure the http.Server that HTTPServer returns.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	// RetryAfter is the Retry-After of a 429 (default 1 s).
	RetryAfter time.Duration
	// Logger receives one line per request (default slog.Default()).
	Logger *slog.Logger
	// ReasoningBudget is the default max_reasoning_tokens of requests
	// whose prompt opens a reasoning block (0: no limit).
	ReasoningBudget int
	// UI serves the chat page (internal/web) at / and its files beside it;
	// without it / is a 404 like any unknown path.
	UI bool
}

// Model is a loaded model as the server serves it.
type Model struct {
	Backend Backend
	// Name is the model ID /v1/models lists (the --alias, else the file's
	// base name); Aliases are further names requests may use. An empty
	// model field in a request is accepted too.
	Name    string
	Aliases []string
	// Template renders chat requests; BOS and EOS are the text of the
	// model's BOS and EOS tokens (bos_token, eos_token).
	Template *chat.Template
	BOS, EOS string
	// R1 marks a DeepSeek-R1-family model: prompts end in "<think>\n" and
	// requests that set neither temperature nor top_p get DeepSeek's
	// temperature 0.6 and top-p 0.95.
	R1 bool
	// Created is the Unix time /v1/models reports (the file's time).
	Created int64
}

func (m *Model) knows(name string) bool {
	if name == "" || name == m.Name {
		return true
	}
	for _, a := range m.Aliases {
		if name == a {
			return true
		}
	}
	return false
}

// Server serves the API. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	keyHash [sha256.Size]byte
	model   atomic.Pointer[Model]
	drain   atomic.Bool
	metrics *metrics
	handler http.Handler
	ui      map[string]*uiFile // the chat page's files by path; nil without Config.UI
}

// New returns a server that answers 503 until SetModel.
func New(cfg Config) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 10 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 2 * time.Minute
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 2 * time.Minute
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.keyHash = sha256.Sum256([]byte(cfg.APIKey))
	s.metrics = newMetrics(s)

	mux := http.NewServeMux()
	mux.Handle("/v1/chat/completions", s.api("chat", http.MethodPost, s.handleChat))
	mux.Handle("/v1/completions", s.api("completions", http.MethodPost, s.handleCompletions))
	mux.Handle("/v1/models", s.api("models", http.MethodGet, s.handleModels))
	mux.Handle("/v1/models/{id...}", s.api("models", http.MethodGet, s.handleModel))
	mux.Handle("/health", s.open("health", http.MethodGet, s.handleHealth))
	mux.Handle("/metrics", s.open("metrics", http.MethodGet, s.metrics.handler().ServeHTTP))
	if cfg.UI {
		s.ui = loadUI()
		for name := range s.ui {
			pattern := "/" + name
			if name == "index.html" {
				pattern = "/{$}" // the page lives at / only
			}
			mux.Handle(pattern, s.open("ui", "", s.handleUI))
		}
	}
	mux.Handle("/", s.open("other", "", s.notFound))
	s.handler = mux
	return s
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "invalid_request_error", "", "", fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer returns an http.Server for Handler with the Config's read
// and idle timeouts and an error log on the Config's logger. Write
// deadlines are set per write while streaming (Config.WriteTimeout), so
// the http.Server has none.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// SetModel makes the server ready: /health answers 200 and the API serves
// m. m must not be changed afterwards.
func (s *Server) SetModel(m *Model) { s.model.Store(m) }

// Drain marks the server as shutting down: /health and new API requests
// answer 503 (requests already running are not affected).
func (s *Server) Drain() { s.drain.Store(true) }

// reqInfo collects what the request log line and metrics report about one
// request; handlers fill it in.
type reqInfo struct {
	promptTokens, completionTokens int
}

type ctxKey struct{}

func info(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// api wraps an authenticated /v1/ endpoint.
func (s *Server) api(endpoint, method string, h http.HandlerFunc) http.Handler {
	return s.open(endpoint, method, func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			writeError(w, http.StatusUnauthorized, "invalid_request_error", "", "invalid_api_key",
				"missing or wrong API key (send it as Authorization: Bearer KEY)")
			return
		}
		h(w, r)
	})
}

// open wraps an endpoint: method check, panic recovery, the request log
// line and the request metrics.
func (s *Server) open(endpoint, method string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		ri := &reqInfo{}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if !rec.wrote {
					writeError(rec, http.StatusInternalServerError, "server_error", "", "", "internal error")
				}
			}
			status := rec.status
			if status == 0 {
				status = 499 // the client went away before an answer
			}
			d := time.Since(start)
			s.metrics.request(endpoint, status)
			if endpoint == "metrics" || endpoint == "health" || endpoint == "ui" && status < 400 && r.URL.Path != "/" {
				return // probes, scrapes and the page's files would flood the log
			}
			s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", status,
				"duration", d.Round(time.Microsecond), "prompt_tokens", ri.promptTokens, "completion_tokens", ri.completionTokens)
		}()
		if method != "" && r.Method != method {
			rec.Header().Set("Allow", method)
			writeError(rec, http.StatusMethodNotAllowed, "invalid_request_error", "", "",
				fmt.Sprintf("%s %s: method not allowed (use %s)", r.Method, r.URL.Path, method))
			return
		}
		h(rec, r)
	})
}

// authorized compares the bearer token with the key in constant time
// (hashes, so that the length does not leak either).
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		token = ""
	}
	h := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return ok && subtle.ConstantTimeCompare(h[:], s.keyHash[:]) == 1
}

// ready returns the model, or writes 503 and returns nil while loading or
// draining.
func (s *Server) ready(w http.ResponseWriter) *Model {
	m := s.model.Load()
	switch {
	case s.drain.Load():
		writeError(w, http.StatusServiceUnavailable, "server_error", "", "shutting_down", "the server is shutting down")
		return nil
	case m == nil:
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "server_error", "", "model_loading", "the model is still loading")
		return nil
	}
	return m
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	status, text := http.StatusOK, "ok"
	switch {
	case s.drain.Load():
		status, text = http.StatusServiceUnavailable, "shutting down"
	case s.model.Load() == nil:
		status, text = http.StatusServiceUnavailable, "loading"
	}
	writeJSON(w, status, map[string]string{"status": text})
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	m := s.ready(w)
	if m == nil {
		return
	}
	writeJSON(w, http.StatusOK, openai.ModelList{Object: openai.ObjectList, Data: []openai.ModelCard{modelCard(m)}})
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	m := s.ready(w)
	if m == nil {
		return
	}
	id := r.PathValue("id")
	if id == "" || !m.knows(id) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model", "model_not_found", fmt.Sprintf("the model %q does not exist (this server serves %q)", id, m.Name))
		return
	}
	writeJSON(w, http.StatusOK, modelCard(m))
}

func modelCard(m *Model) openai.ModelCard {
	return openai.ModelCard{ID: m.Name, Object: openai.ObjectModel, Created: m.Created, OwnedBy: "sputnik", ContextLength: m.Backend.Context()}
}

// recorder remembers the status written; it passes Flush through and
// unwraps for http.ResponseController.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.status, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
