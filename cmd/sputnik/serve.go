package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sputnik-llm/sputnik/internal/chat"
	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/models"
	"github.com/sputnik-llm/sputnik/internal/server"
	"github.com/sputnik-llm/sputnik/internal/sysmem"
)

// runServe is the HTTP server: it listens first (/health answers 503 while
// the model loads), loads the model, starts the engine and serves the
// OpenAI/DeepSeek API until SIGINT or SIGTERM.
func runServe(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, args, stderr)
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	modelPath := modelFlag(fs, "model GGUF file (the first part of a split model) or pulled model name (default: the built-in model)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address` (loopback by default; :8080 for every interface)")
	apiKey := fs.String("api-key", "", "require this key as \"Authorization: Bearer KEY\" (default: $SPUTNIK_API_KEY)")
	parallelN := fs.Int("parallel", 4, "most sequences decoded together")
	ctxLen := ctxFlag(fs, 4096, "context size per sequence in tokens, capped at the model's")
	kvMem := fs.String("kv-mem", "", "KV cache pool `size` (e.g. 512M, 2G; default: what --parallel x --ctx needs)")
	alias := fs.String("alias", "", "model `name` the API reports (default: the file's base name)")
	threads := threadsFlag(fs)
	queue := fs.Int("queue", 64, "most requests waiting for a slot; beyond it 429")
	maxBody := fs.String("max-body", "8M", "largest request body `size`; beyond it 413")
	noUI := fs.Bool("no-ui", false, "do not serve the chat page at /")
	grace := fs.Duration("grace", 10*time.Second, "on SIGTERM, how long running requests may finish before they are cancelled")
	budget := fs.Int("reasoning-budget", 0, "default max_reasoning_tokens: after `N` reasoning tokens the server closes the <think> block (0 = no limit)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: sputnik serve [-m MODEL.gguf] [--addr HOST:PORT] [--api-key KEY] [--parallel N] [--ctx N] [--kv-mem SIZE] [--alias NAME] [-t N] [--reasoning-budget N] [--no-ui]")
		fmt.Fprintln(fs.Output(), "\nServes the OpenAI/DeepSeek API (/v1/chat/completions, /v1/completions, /v1/models), /health and /metrics.")
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *modelPath == "" && len(pos) == 1 && strings.HasSuffix(pos[0], ".gguf") {
		*modelPath, pos = pos[0], nil
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *modelPath, err = defaultModel("serve", *modelPath); err != nil {
		return err
	}
	if *apiKey == "" {
		*apiKey = os.Getenv("SPUTNIK_API_KEY")
	}
	var kvBytes int64
	if *kvMem != "" {
		if kvBytes, err = parseSize(*kvMem); err != nil {
			return usageError{"--kv-mem: " + err.Error()}
		}
	}
	bodyLimit, err := parseSize(*maxBody)
	if err != nil {
		return usageError{"--max-body: " + err.Error()}
	}
	if *parallelN < 1 || *queue < 1 {
		return usageError{"--parallel and --queue must be positive"}
	}
	for _, check := range []error{checkThreads(*threads), checkCtx(*ctxLen)} {
		if check != nil {
			return check
		}
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv := server.New(server.Config{APIKey: *apiKey, MaxBody: bodyLimit, Logger: log, ReasoningBudget: *budget, UI: !*noUI})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := srv.HTTPServer()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stderr, "sputnik serve: listening on %s (/health answers 503 until the model is loaded)\n", url)
	if *apiKey == "" && !isLoopback(ln.Addr()) {
		fmt.Fprintf(stderr, "sputnik serve: warning: listening beyond loopback without --api-key\n")
	}

	// Load in the background so that a signal during a long load still
	// stops the server promptly.
	type loadResult struct {
		lm      *loaded
		m       *server.Model
		e       *engine.Engine
		summary string
		err     error
	}
	loadDone := make(chan loadResult, 1)
	go func() {
		var r loadResult
		r.lm, r.m, r.e, r.summary, r.err = loadForServe(*modelPath, *alias, *threads, engine.Options{
			Parallel: *parallelN, Context: *ctxLen, KVBytes: kvBytes, Queue: *queue,
		}, stderr)
		loadDone <- r
	}()
	var lr loadResult
	select {
	case lr = <-loadDone:
		if lr.err != nil {
			hs.Close()
			return lr.err
		}
	case err := <-served:
		return err
	case <-ctx.Done():
		fmt.Fprintln(stderr, "sputnik serve: interrupted while loading")
		hs.Close()
		return nil
	}
	defer lr.lm.f.Close()
	srv.SetModel(lr.m)
	fmt.Fprintf(stderr, "sputnik serve: %s\n", lr.summary)
	fmt.Fprintf(stderr, "sputnik serve: ready: %s/v1 (model %q)\n", url, lr.m.Name)
	if !*noUI {
		fmt.Fprintf(stderr, "sputnik serve: chat in the browser: %s/\n", url)
	}

	select {
	case err := <-served:
		lr.e.Close(context.Background())
		return err
	case <-ctx.Done():
	}
	return shutdown(hs, srv, lr.e, *grace, stderr)
}

// shutdown stops accepting requests, lets running ones finish for grace,
// cancels the rest, and waits (boundedly) for the handlers to return.
func shutdown(hs *http.Server, srv *server.Server, e *engine.Engine, grace time.Duration, stderr io.Writer) error {
	fmt.Fprintf(stderr, "sputnik serve: shutting down (running requests get %v)\n", grace)
	srv.Drain()
	engineDone := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		engineDone <- e.Close(ctx)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), grace+5*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "sputnik serve: %v; closing the remaining connections\n", err)
		hs.Close()
	}
	select {
	case err := <-engineDone:
		if err != nil {
			fmt.Fprintf(stderr, "sputnik serve: requests still running after %v were cancelled\n", grace)
		}
	case <-time.After(5 * time.Second):
		fmt.Fprintln(stderr, "sputnik serve: the engine did not stop in time")
	}
	fmt.Fprintln(stderr, "sputnik serve: stopped")
	return nil
}

// loadForServe loads the model, its chat template and the engine.
func loadForServe(path, alias string, threads int, opt engine.Options, stderr io.Writer) (*loaded, *server.Model, *engine.Engine, string, error) {
	fmt.Fprintf(stderr, "sputnik serve: loading %s…\n", describeModel(path))
	lm, err := loadModel(path, threads, stderr)
	if err != nil {
		return nil, nil, nil, "", err
	}
	info := lm.m.Info()
	fmt.Fprintf(stderr, "sputnik serve: loaded %s (%s, %s parameters) in %.1f s\n",
		orDash(info.Name), info.Arch, humanCount(info.Params), lm.took.Seconds())
	src, special, err := templateSource(path, "", "", stderr)
	if err != nil {
		lm.f.Close()
		return nil, nil, nil, "", err
	}
	tmpl, err := chat.Parse(src)
	if err != nil {
		lm.f.Close()
		return nil, nil, nil, "", fmt.Errorf("chat template: %w", err)
	}
	if info.ContextLength > 0 {
		opt.Context = min(opt.Context, info.ContextLength)
	}
	if opt.KVBytes == 0 {
		opt.KVBytes = defaultKVBytes(opt, info, lm.f.Size, stderr)
	}
	e, err := engine.New(lm.m, lm.tok, opt)
	if err != nil {
		lm.f.Close()
		return nil, nil, nil, "", err
	}
	name := modelName(path)
	m := &server.Model{
		Backend: server.EngineBackend(e), Name: name, Template: tmpl, BOS: special.bos, EOS: special.eos,
		R1: models.IsR1(lm.f),
	}
	if alias != "" {
		m.Name, m.Aliases = alias, []string{name}
	}
	if info.Name != "" && info.Name != m.Name {
		m.Aliases = append(m.Aliases, info.Name)
	}
	if isBuiltin(path) {
		if t := builtinTime(); !t.IsZero() {
			m.Created = t.Unix()
		}
	} else if st, err := os.Stat(path); err == nil {
		m.Created = st.ModTime().Unix()
	}
	s := e.Stats()
	summary := fmt.Sprintf("engine: %d parallel sequences of up to %d tokens; KV cache %s: %d blocks of %d tokens, %d bytes per token",
		e.Parallel(), e.Context(), humanBytes(uint64(s.KVBytes)), s.KVBlocks, s.KVBlockTokens, s.KVBytesPerTok)
	if m.R1 {
		summary += "; DeepSeek-R1 defaults (temperature 0.6, top-p 0.95, prompts open <think>)"
	}
	return lm, m, e, summary, nil
}

var splitSuffix = regexp.MustCompile(`-\d{5}-of-\d{5}$`)

// modelName is the name a model file is served under: its base name
// without .gguf and without the -00001-of-00003 of a split model.
func modelName(path string) string {
	name := strings.TrimSuffix(filepath.Base(path), ".gguf")
	return splitSuffix.ReplaceAllString(name, "")
}

// parseSize reads a byte count such as 512M, 2G, 1.5GiB or 1048576
// (K, M, G, T are powers of 1024).
func parseSize(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B"), "I")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("%q is not a size (e.g. 512M, 2G)", s)
	}
	return int64(v * float64(mult)), nil
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// defaultKVBytes is the KV pool when --kv-mem is not given: what
// opt.Parallel sequences of opt.Context tokens need, capped at three
// quarters of the memory the process may use beyond the model file (the
// weights are mapped, so they compete for the same memory), but never below
// one full context. A capped pool still serves --parallel sequences: when
// it runs out, the newest sequence waits (preempted, its blocks kept as
// prefix cache) until others finish.
func defaultKVBytes(opt engine.Options, info model.Info, fileSize int64, stderr io.Writer) int64 {
	bt := int64(kvcache.DefaultBlockTokens)
	perBlock := int64(info.KVLayout.BytesPerToken()) * bt
	perCtx := (int64(opt.Context) + bt - 1) / bt * perBlock
	need := int64(max(opt.Parallel, 1)) * perCtx
	limit, source := sysmem.Limit()
	if limit <= 0 {
		return need
	}
	budget := (limit - fileSize) / 4 * 3
	if need <= budget {
		return need
	}
	capped := max(budget, perCtx)
	fmt.Fprintf(stderr, "sputnik serve: note: %d sequences of %d tokens need a %s KV cache; capping it at %s (memory limit %s, %s); set --kv-mem to choose\n",
		opt.Parallel, opt.Context, humanBytes(uint64(need)), humanBytes(uint64(capped)), humanBytes(uint64(limit)), source)
	return capped
}
