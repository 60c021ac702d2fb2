package main

// End-to-end reliability tests: the real engine on the shared tiny models
// behind the real server and net/http, driven through HTTP. They measure
// and log what the server issue's "Reliability" section asks for (run
// with -v to see the figures): concurrent greedy streams equal solo runs,
// cancelled requests leave no goroutines or KV blocks behind, bad
// requests get exact 4xx answers, slow clients block nobody.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sputnik-llm/sputnik/internal/engine"
	"github.com/sputnik-llm/sputnik/internal/server"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// relModel is a shared tiny model loaded once per test; every server of
// the test gets its own engine over the same (immutable) weights.
type relModel struct {
	lm *loaded
	m  *server.Model
}

func loadRelModel(t *testing.T, file string) relModel {
	t.Helper()
	path := testutil.SharedFile(t, "golden/models/"+file)
	lm, m, e, _, err := loadForServe(path, "", 0, engine.Options{Parallel: 1, Context: 64}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	e.Close(context.Background())
	t.Cleanup(func() { lm.f.Close() })
	return relModel{lm: lm, m: m}
}

// relServer is one server on a fresh engine, listening on loopback.
type relServer struct {
	url    string
	key    string
	e      *engine.Engine
	hs     *httptest.Server
	client *http.Client
}

func startRel(t *testing.T, rm relModel, opt engine.Options, cfg server.Config) *relServer {
	t.Helper()
	return startRelOn(t, rm, opt, cfg, nil)
}

// startRelOn is startRel with the listener passed through wrap (when
// set).
func startRelOn(t *testing.T, rm relModel, opt engine.Options, cfg server.Config, wrap func(net.Listener) net.Listener) *relServer {
	t.Helper()
	e, err := engine.New(rm.lm.m, rm.lm.tok, opt)
	if err != nil {
		t.Fatal(err)
	}
	m := *rm.m
	m.Backend = server.EngineBackend(e)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	srv := server.New(cfg)
	srv.SetModel(&m)
	hs := httptest.NewUnstartedServer(nil)
	hs.Config = srv.HTTPServer()
	if wrap != nil {
		hs.Listener = wrap(hs.Listener)
	}
	hs.Start()
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	s := &relServer{url: hs.URL, key: cfg.APIKey, e: e, hs: hs, client: &http.Client{Transport: tr}}
	t.Cleanup(s.close)
	return s
}

func (s *relServer) close() {
	s.client.CloseIdleConnections()
	s.hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.e.Close(ctx)
}

// post sends a JSON body to path.
func (s *relServer) post(ctx context.Context, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", s.url+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if s.key != "" {
		req.Header.Set("Authorization", "Bearer "+s.key)
	}
	return s.client.Do(req)
}

// chatBody is a greedy chat request.
type chatBody struct {
	system, user string
	maxTokens    int
	ignoreEOS    bool
	stream       bool
	topLogprobs  int
}

func (c chatBody) JSON() string {
	msgs := []map[string]string{}
	if c.system != "" {
		msgs = append(msgs, map[string]string{"role": "system", "content": c.system})
	}
	msgs = append(msgs, map[string]string{"role": "user", "content": c.user})
	req := map[string]any{
		"messages": msgs, "temperature": 0, "max_tokens": c.maxTokens, "logprobs": true,
		"ignore_eos": c.ignoreEOS, "stream": c.stream,
	}
	if c.stream {
		req["stream_options"] = map[string]bool{"include_usage": true}
	}
	if c.topLogprobs > 0 {
		req["top_logprobs"] = c.topLogprobs
	}
	b, _ := json.Marshal(req)
	return string(b)
}

// relUsage is the usage object with DeepSeek's cache fields.
type relUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	CacheHit         int `json:"prompt_cache_hit_tokens"`
	CacheMiss        int `json:"prompt_cache_miss_tokens"`
	Details          struct {
		Cached int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

// streamed is what a chat stream carried.
type streamed struct {
	tokens    []string  // logprobs.content[].token, in order
	logprobs  []float64 // their log-probabilities
	reasoning string
	content   string
	finish    string
	usage     *relUsage
	done      bool // [DONE] arrived
}

// readChatStream parses a chat SSE stream to its end; onEvent, when set,
// is called after each event with the events read so far and may stop
// reading by returning false.
func readChatStream(r io.Reader, onEvent func(n int) bool) (streamed, error) {
	var out streamed
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			if line != "" {
				return out, fmt.Errorf("unexpected SSE line %q", line)
			}
			continue
		}
		if data == "[DONE]" {
			out.done = true
			return out, nil
		}
		var ch struct {
			Error   *struct{ Message string }
			Choices []struct {
				Delta struct {
					Content          *string
					ReasoningContent *string `json:"reasoning_content"`
				}
				Logprobs *struct {
					Content []struct {
						Token   string
						Logprob float64
					}
				}
				FinishReason *string `json:"finish_reason"`
			}
			Usage *relUsage
		}
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			return out, fmt.Errorf("chunk %q: %v", data, err)
		}
		if ch.Error != nil {
			return out, fmt.Errorf("error event: %s", ch.Error.Message)
		}
		if ch.Usage != nil {
			out.usage = ch.Usage
		}
		for _, c := range ch.Choices {
			if c.Delta.Content != nil {
				out.content += *c.Delta.Content
			}
			if c.Delta.ReasoningContent != nil {
				out.reasoning += *c.Delta.ReasoningContent
			}
			if c.Logprobs != nil {
				for _, lp := range c.Logprobs.Content {
					out.tokens = append(out.tokens, lp.Token)
					out.logprobs = append(out.logprobs, lp.Logprob)
				}
			}
			if c.FinishReason != nil {
				out.finish = *c.FinishReason
			}
		}
		n++
		if onEvent != nil && !onEvent(n) {
			return out, nil
		}
	}
	if err := sc.Err(); err != nil {
		return out, err
	}
	return out, io.ErrUnexpectedEOF
}

// chatStream runs one streamed chat request to its end (within a minute:
// a stuck server fails the test instead of hanging it).
func (s *relServer) chatStream(ctx context.Context, c chatBody) (streamed, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c.stream = true
	resp, err := s.post(ctx, "/v1/chat/completions", strings.NewReader(c.JSON()))
	if err != nil {
		return streamed{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return streamed{}, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	out, err := readChatStream(resp.Body, nil)
	if err == nil && !out.done {
		err = fmt.Errorf("stream ended without [DONE]")
	}
	return out, err
}

// words draws n words of English-like text from rng.
func words(rng *rand.Rand, n int) string {
	vocab := strings.Fields("the a model reasons about numbers and cats while river flows quietly under seven bridges " +
		"we think step by step before answering question answer light house mountain green blue carefully " +
		"because therefore however eleven twelve hundred function returns value string token cache block")
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(vocab[rng.IntN(len(vocab))])
	}
	return b.String()
}

// TestReliabilityConcurrentEqualsSolo sends 64 greedy chat streams at once
// (mixed prompt lengths; half share a long system prompt, so the prefix
// cache is hit) and checks each against the same request run alone on a
// fresh, idle server: tokens, log-probabilities and text must be equal.
func TestReliabilityConcurrentEqualsSolo(t *testing.T) {
	streams, userWords, systemWords := 64, 150, 180
	if testing.Short() {
		streams, userWords, systemWords = 16, 40, 60
	}
	for _, file := range []string{"qwen2-tiny-f32.gguf", "deepseek2-tiny-f32.gguf"} {
		t.Run(file, func(t *testing.T) {
			rm := loadRelModel(t, file)
			rng := rand.New(rand.NewPCG(10, 1))
			system := "You are a careful assistant. " + words(rng, systemWords)
			reqs := make([]chatBody, streams)
			for i := range reqs {
				reqs[i] = chatBody{user: words(rng, 1+rng.IntN(userWords)), maxTokens: 8 + rng.IntN(17), ignoreEOS: i%3 != 0}
				if i%2 == 0 {
					reqs[i].system = system
				}
			}
			const ctxLen = 1024

			// Solo: each request alone on its own fresh server (idle, cold
			// prefix cache).
			start := time.Now()
			solo := make([]streamed, streams)
			for i, c := range reqs {
				s := startRel(t, rm, engine.Options{Parallel: 1, Context: ctxLen}, server.Config{})
				out, err := s.chatStream(context.Background(), c)
				if err != nil {
					t.Fatalf("solo request %d: %v", i, err)
				}
				solo[i] = out
				s.close()
			}
			soloTime := time.Since(start)

			// Concurrent: all at once on one server that decodes half of
			// them together (the rest queue, and find the system prompt in
			// the prefix cache: prefixes are shared once a request has
			// prefilled them, not between requests admitted together), with
			// a small step budget so that long prompts prefill in chunks
			// beside other sequences' decode tokens.
			s := startRel(t, rm, engine.Options{Parallel: streams / 2, Context: ctxLen, StepTokens: 128, Queue: streams}, server.Config{})
			start = time.Now()
			got := make([]streamed, streams)
			errs := make([]error, streams)
			var wg sync.WaitGroup
			for i, c := range reqs {
				wg.Go(func() { got[i], errs[i] = s.chatStream(context.Background(), c) })
			}
			wg.Wait()
			concTime := time.Since(start)

			hitTokens, hitReqs, promptTokens, genTokens, mismatches := 0, 0, 0, 0, 0
			for i := range reqs {
				if errs[i] != nil {
					t.Fatalf("concurrent request %d: %v", i, errs[i])
				}
				g, w := got[i], solo[i]
				if g.usage == nil || w.usage == nil {
					t.Fatalf("request %d: no usage chunk", i)
				}
				promptTokens += g.usage.PromptTokens
				genTokens += g.usage.CompletionTokens
				if g.usage.CacheHit > 0 {
					hitTokens += g.usage.CacheHit
					hitReqs++
				}
				if g.usage.CacheHit != g.usage.Details.Cached || g.usage.CacheHit+g.usage.CacheMiss != g.usage.PromptTokens {
					t.Errorf("request %d: inconsistent usage %+v", i, *g.usage)
				}
				if w.usage.CacheHit != 0 {
					t.Errorf("request %d: the solo run on a fresh server reports %d cache-hit tokens", i, w.usage.CacheHit)
				}
				if g.usage.CompletionTokens != len(g.tokens) {
					t.Errorf("request %d: usage says %d completion tokens, the stream carried %d", i, g.usage.CompletionTokens, len(g.tokens))
				}
				if !equalStreams(g, w) {
					mismatches++
					t.Errorf("request %d (%d prompt tokens, %d cached): concurrent differs from solo\n got %q %v\nwant %q %v\n got text %q|%q\nwant text %q|%q",
						i, g.usage.PromptTokens, g.usage.CacheHit, g.tokens, g.logprobs, w.tokens, w.logprobs, g.reasoning, g.content, w.reasoning, w.content)
				}
			}
			st := waitIdle(s.e, 5*time.Second)
			if st.Running != 0 || st.Queued != 0 || st.KVBlocksUsed != 0 {
				t.Errorf("engine not idle after the streams: %+v", st)
			}
			t.Logf("%s: %d concurrent greedy streams, %d prompt tokens (%d to %d per request), %d generated tokens; %d/%d equal to solo token for token (ids' text, logprobs, reasoning and content)",
				file, streams, promptTokens, minPrompt(got), maxPrompt(got), genTokens, streams-mismatches, streams)
			t.Logf("%s: prefix cache: %d hit tokens over %d requests (%.0f%% of prompt tokens); solo runs (fresh server each) %.2f s, concurrent %.2f s; engine steps %d, KV blocks used %d cached %d of %d",
				file, hitTokens, hitReqs, 100*float64(hitTokens)/float64(promptTokens), soloTime.Seconds(), concTime.Seconds(), st.Steps, st.KVBlocksUsed, st.KVBlocksCached, st.KVBlocks)
			if hitReqs == 0 {
				t.Errorf("no request hit the prefix cache; want the shared system prompt reused")
			}
		})
	}
}

func equalStreams(a, b streamed) bool {
	if len(a.tokens) != len(b.tokens) || a.reasoning != b.reasoning || a.content != b.content || a.finish != b.finish {
		return false
	}
	for i := range a.tokens {
		if a.tokens[i] != b.tokens[i] || a.logprobs[i] != b.logprobs[i] {
			return false
		}
	}
	return true
}

func minPrompt(s []streamed) int {
	m := 1 << 30
	for _, x := range s {
		m = min(m, x.usage.PromptTokens)
	}
	return m
}

func maxPrompt(s []streamed) int {
	m := 0
	for _, x := range s {
		m = max(m, x.usage.PromptTokens)
	}
	return m
}

// settleGoroutines waits (boundedly) until at most want goroutines run and
// returns the last count.
func settleGoroutines(want int, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitIdle waits (boundedly) until the engine runs and queues nothing and
// holds no KV blocks for running sequences, and returns its stats.
func waitIdle(e *engine.Engine, limit time.Duration) engine.Stats {
	deadline := time.Now().Add(limit)
	for {
		st := e.Stats()
		if st.Running == 0 && st.Queued == 0 && st.KVBlocksUsed == 0 || time.Now().After(deadline) {
			return st
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// scrape returns the unlabelled or labelled gauge values of /metrics,
// keyed by the metric's full name with labels.
func (s *relServer) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := s.client.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// TestReliabilityCancel cancels 1,000 streamed requests at random points
// (before the answer while queued or prefilling, or after some tokens;
// half by cancelling the request context, half by closing the body) and
// checks that afterwards no goroutine is left over and every KV block is
// back in the pool, in the engine's stats and in /metrics.
func TestReliabilityCancel(t *testing.T) {
	total, clients := 1000, 40
	if testing.Short() {
		total, clients = 200, 24
	}
	rm := loadRelModel(t, "qwen2-tiny-f32.gguf")
	s := startRel(t, rm, engine.Options{Parallel: 8, Context: 512, Queue: 64}, server.Config{})
	rng := rand.New(rand.NewPCG(20, 2))
	system := "You are a careful assistant. " + words(rng, 40)
	type plan struct {
		body      string
		delay     time.Duration // cancel this long after sending (when events < 0)
		events    int           // cancel after reading this many events
		closeBody bool          // close the body instead of cancelling the context
	}
	plans := make([]plan, total)
	for i := range plans {
		c := chatBody{user: words(rng, 1+rng.IntN(40)), maxTokens: 24, ignoreEOS: true, stream: true}
		if rng.IntN(2) == 0 {
			c.system = system
		}
		p := plan{body: c.JSON(), events: -1, closeBody: rng.IntN(2) == 0}
		if rng.IntN(3) == 0 {
			p.delay = time.Duration(rng.IntN(4000)) * time.Microsecond
		} else {
			p.events = rng.IntN(26) // the role chunk, up to 24 tokens, the finish chunk
		}
		plans[i] = p
	}

	// Warm up (one full request) so that lazily started goroutines exist
	// before the baseline is taken.
	if _, err := s.chatStream(context.Background(), chatBody{user: "warm up", maxTokens: 2}); err != nil {
		t.Fatal(err)
	}
	s.client.CloseIdleConnections()
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()

	var (
		mu                                                    sync.Mutex
		unanswered, early, midStream, completed, failed, maxQ int
	)
	start := time.Now()
	work := make(chan plan)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for p := range work {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				var timer *time.Timer
				if p.events < 0 {
					timer = time.AfterFunc(p.delay, cancel)
				}
				o := func() string {
					resp, err := s.post(ctx, "/v1/chat/completions", strings.NewReader(p.body))
					if errors.Is(ctx.Err(), context.DeadlineExceeded) {
						return "failed: no answer within 20 s"
					}
					if err != nil {
						if ctx.Err() != nil {
							return "unanswered"
						}
						return "failed: " + err.Error()
					}
					defer resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						return fmt.Sprintf("failed: status %d", resp.StatusCode)
					}
					out, err := readChatStream(resp.Body, func(n int) bool { return n < p.events || p.events < 0 })
					if errors.Is(ctx.Err(), context.DeadlineExceeded) {
						return "failed: not done within 20 s"
					}
					timedOut := ctx.Err() != nil // the timer cancelled it
					if !p.closeBody {
						cancel() // before the deferred Close
					}
					switch {
					case out.done:
						return "completed"
					case err != nil && !timedOut:
						return "failed: " + err.Error()
					case len(out.tokens) == 0:
						return "early"
					}
					return "mid"
				}()
				st := s.e.Stats()
				if timer != nil {
					timer.Stop()
				}
				cancel()
				mu.Lock()
				maxQ = max(maxQ, st.Queued)
				switch {
				case o == "unanswered":
					unanswered++
				case o == "early":
					early++
				case o == "mid":
					midStream++
				case o == "completed":
					completed++
				default:
					failed++
					if failed <= 5 {
						t.Errorf("request failed: %s", o)
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, p := range plans {
		work <- p
	}
	close(work)
	wg.Wait()
	took := time.Since(start)

	st := waitIdle(s.e, 10*time.Second)
	idle := time.Since(start) - took
	s.client.CloseIdleConnections()
	after := settleGoroutines(before, 10*time.Second)
	m := s.scrape(t)
	t.Logf("%d requests in %.2f s by %d clients: %d cancelled before any answer, %d after the headers but before their first token (queued or prefilling; the queue held up to %d), %d mid-stream, %d completed before their cancel point, %d failed",
		total, took.Seconds(), clients, unanswered, early, maxQ, midStream, completed, failed)
	t.Logf("engine idle %v after the last client returned: running %d, queued %d, KV blocks used %d, cached %d, of %d; goroutines before %d, after %d",
		idle.Round(time.Millisecond), st.Running, st.Queued, st.KVBlocksUsed, st.KVBlocksCached, st.KVBlocks, before, after)
	t.Logf("/metrics: running %v, waiting %v, kv usage %v, blocks used %v cached %v free %v; requests 499 (client gone before an answer) %v, 200 %v",
		m["sputnik_num_requests_running"], m["sputnik_num_requests_waiting"], m["sputnik_kv_cache_usage_perc"],
		m[`sputnik_kv_cache_blocks{state="used"}`], m[`sputnik_kv_cache_blocks{state="cached"}`], m[`sputnik_kv_cache_blocks{state="free"}`],
		m[`sputnik_requests_total{code="499",endpoint="chat"}`], m[`sputnik_requests_total{code="200",endpoint="chat"}`])
	if st.Running != 0 || st.Queued != 0 || st.KVBlocksUsed != 0 {
		t.Errorf("engine not idle after the cancellations: %+v", st)
	}
	if after > before {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after; stacks:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
	if m["sputnik_num_requests_running"] != 0 || m["sputnik_num_requests_waiting"] != 0 || m["sputnik_kv_cache_usage_perc"] != 0 ||
		m[`sputnik_kv_cache_blocks{state="used"}`] != 0 ||
		m[`sputnik_kv_cache_blocks{state="cached"}`]+m[`sputnik_kv_cache_blocks{state="free"}`] != float64(st.KVBlocks) {
		t.Errorf("/metrics disagrees with an idle engine: %v", m)
	}
	if unanswered+early+midStream < total*9/10 || early == 0 || midStream == 0 {
		t.Errorf("only %d early and %d mid-stream cancellations of %d; want both kinds, 90%% in all", unanswered+early, midStream, total)
	}
	// The server still serves.
	if _, err := s.chatStream(context.Background(), chatBody{user: "still there?", maxTokens: 4}); err != nil {
		t.Errorf("a request after the cancellations: %v", err)
	}
}

// repeatReader yields n bytes of 'a' without holding them.
type repeatReader struct{ n int64 }

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n)
	for i := range p[:k] {
		p[i] = 'a'
	}
	r.n -= k
	return int(k), nil
}

// countingReader counts the bytes read through it (the transport may
// still be reading when the response arrives, hence the atomic).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestReliabilityBadRequests sends malformed, mistyped, oversized and
// refused requests: each gets its exact 4xx status and an OpenAI error
// object whose message names the problem, and the server answers a normal
// request after each.
func TestReliabilityBadRequests(t *testing.T) {
	rm := loadRelModel(t, "qwen2-tiny-f32.gguf")
	const key = "sk-rel"
	s := startRel(t, rm, engine.Options{Parallel: 2, Context: 256}, server.Config{APIKey: key})
	long := words(rand.New(rand.NewPCG(30, 3)), 600)
	user := `"messages": [{"role": "user", "content": "hi"}]`
	const huge = 100 << 20
	var sent *countingReader
	for _, tc := range []struct {
		name   string
		path   string
		body   func() io.Reader
		auth   string // "" means the right key
		status int
		code   string // error.code, when it must be set
		param  string // error.param, when it must be set
		want   string // in error.message (case-insensitive)
	}{
		{name: "malformed JSON", body: text(`{"messages": [{"role": "user", "content": "hi"}`), status: 400, want: "json"},
		{name: "trailing garbage", body: text(`{` + user + `} {}`), status: 400, want: "json"},
		{name: "not an object", body: text(`[1, 2, 3]`), status: 400, want: "object"},
		{name: "empty body", body: text(``), status: 400, want: "body"},
		{name: "messages is a string", body: text(`{"messages": "hi"}`), status: 400, param: "messages", want: "messages"},
		{name: "content is a number", body: text(`{"messages": [{"role": "user", "content": 42}]}`), status: 400, want: "messages[0].content"},
		{name: "max_tokens is a string", body: text(`{` + user + `, "max_tokens": "ten"}`), status: 400, param: "max_tokens", want: "max_tokens"},
		{name: "temperature is a string", body: text(`{` + user + `, "temperature": "hot"}`), status: 400, param: "temperature", want: "temperature"},
		{name: "stream is a number", body: text(`{` + user + `, "stream": 1}`), status: 400, param: "stream", want: "stream"},
		{name: "unknown role", body: text(`{"messages": [{"role": "robot", "content": "hi"}]}`), status: 400, want: `messages[0].role: unknown role "robot"`},
		{name: "missing role", body: text(`{"messages": [{"content": "hi"}]}`), status: 400, want: "messages[0].role"},
		{name: "empty message list", body: text(`{"messages": []}`), status: 400, param: "messages", want: "messages"},
		{name: "no messages", body: text(`{"max_tokens": 3}`), status: 400, want: "messages"},
		{name: "max_tokens 0", body: text(`{` + user + `, "max_tokens": 0}`), status: 400, param: "max_tokens", want: "max_tokens"},
		{name: "max_tokens negative", body: text(`{` + user + `, "max_tokens": -5}`), status: 400, param: "max_tokens", want: "max_tokens"},
		{name: "max_completion_tokens 0", body: text(`{` + user + `, "max_completion_tokens": 0}`), status: 400, param: "max_completion_tokens", want: "max_completion_tokens"},
		{name: "n=2", body: text(`{` + user + `, "n": 2}`), status: 400, param: "n", want: "n = 1"},
		{name: "top_logprobs 21", body: text(`{` + user + `, "logprobs": true, "top_logprobs": 21}`), status: 400, param: "top_logprobs", want: "top_logprobs"},
		{name: "prompt over the context", body: text(`{"messages": [{"role": "user", "content": "` + long + `"}]}`), status: 400, code: "context_length_exceeded", param: "messages", want: "context"},
		{name: "completion prompt over the context", path: "/v1/completions", body: text(`{"prompt": "` + long + `"}`), status: 400, code: "context_length_exceeded", param: "prompt", want: "context"},
		{name: "completion token outside the vocabulary", path: "/v1/completions", body: text(`{"prompt": [1, 2, 99999999]}`), status: 400, want: "vocabulary"},
		{name: "completion empty prompt", path: "/v1/completions", body: text(`{"prompt": []}`), status: 400, want: "prompt"},
		{name: "100 MB body", body: func() io.Reader {
			sent = &countingReader{r: io.MultiReader(strings.NewReader(`{"messages": [{"role": "user", "content": "`), &repeatReader{n: huge}, strings.NewReader(`"}]}`))}
			return sent
		}, status: 413, code: "request_too_large", want: "larger than"},
		{name: "bad API key", auth: "Bearer sk-wrong", body: text(`{` + user + `}`), status: 401, code: "invalid_api_key", want: "api key"},
		{name: "no API key", auth: "-", body: text(`{` + user + `}`), status: 401, code: "invalid_api_key", want: "api key"},
		{name: "unknown model", body: text(`{"model": "gpt-5", ` + user + `}`), status: 404, code: "model_not_found", param: "model", want: `"gpt-5"`},
		{name: "unknown path", path: "/v1/embeddings", body: text(`{}`), status: 404, want: "/v1/embeddings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/v1/chat/completions"
			}
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			req, err := http.NewRequest("POST", s.url+path, tc.body())
			if err != nil {
				t.Fatal(err)
			}
			switch tc.auth {
			case "":
				req.Header.Set("Authorization", "Bearer "+key)
			case "-":
			default:
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			runtime.ReadMemStats(&ms1)
			var e struct {
				Error *struct {
					Message string
					Type    string
					Param   *string
					Code    *string
				}
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error == nil {
				t.Fatalf("status %d, body %q: not an OpenAI error object (%v)", resp.StatusCode, body, err)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if !strings.Contains(strings.ToLower(e.Error.Message), strings.ToLower(tc.want)) {
				t.Errorf("message %q does not name the problem (want %q in it)", e.Error.Message, tc.want)
			}
			if e.Error.Type == "" {
				t.Errorf("error type empty: %s", body)
			}
			if tc.code != "" && (e.Error.Code == nil || *e.Error.Code != tc.code) {
				t.Errorf("code %v, want %q", e.Error.Code, tc.code)
			}
			if tc.param != "" && (e.Error.Param == nil || *e.Error.Param != tc.param) {
				t.Errorf("param %v, want %q", e.Error.Param, tc.param)
			}
			msg := e.Error.Message
			if len(msg) > 120 {
				msg = msg[:120] + "…"
			}
			t.Logf("%d %q", resp.StatusCode, msg)
			if tc.name == "100 MB body" {
				alloc := ms1.TotalAlloc - ms0.TotalAlloc
				t.Logf("100 MB body: the client sent %.1f MB before the answer; %.1f MB allocated in the process meanwhile", float64(sent.n.Load())/(1<<20), float64(alloc)/(1<<20))
				if alloc > huge/2 {
					t.Errorf("%d bytes allocated for a refused 100 MB body; want far less than the body", alloc)
				}
			}
			// The server keeps serving.
			if out, err := s.chatStream(context.Background(), chatBody{user: "still there?", maxTokens: 2}); err != nil || len(out.tokens) != 2 {
				t.Fatalf("a normal request afterwards: %v (%d tokens)", err, len(out.tokens))
			}
		})
	}
	st := waitIdle(s.e, 5*time.Second)
	if st.Running != 0 || st.KVBlocksUsed != 0 {
		t.Errorf("engine not idle: %+v", st)
	}
}

func text(s string) func() io.Reader { return func() io.Reader { return strings.NewReader(s) } }

// rawRequest is an HTTP/1.1 request with a JSON body, as bytes.
func rawRequest(path, key, body string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: sputnik\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		path, key, len(body), body)
}

// TestReliabilitySlowClients checks that a client that stops reading its
// stream holds up no other stream and is dropped after the write timeout
// (its request cancelled, its KV blocks freed), and that clients sending
// their headers or body too slowly are dropped after the read timeouts.
func TestReliabilitySlowClients(t *testing.T) {
	rm := loadRelModel(t, "qwen2-tiny-f32.gguf")
	const key = "sk-slow"
	// The write timeout, and the stalled request's generation, must outlast
	// the other streams' work by a margin (under -race, purego kernels and
	// a loaded machine, 8 streams took 1.3 s), or the stalled stream ends
	// first and the test proves nothing.
	cfg := server.Config{APIKey: key, WriteTimeout: 3 * time.Second, ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond}
	// Small server-side socket buffers: a client that stops reading
	// blocks its handler's writes after a few kilobytes.
	s := startRelOn(t, rm, engine.Options{Parallel: 4, Context: 16384}, cfg, func(ln net.Listener) net.Listener { return smallBufListener{ln} })
	host := strings.TrimPrefix(s.url, "http://")
	dial := func() *net.TCPConn {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		tc := c.(*net.TCPConn)
		tc.SetReadBuffer(4096) // a reader that stops fills the window soon
		t.Cleanup(func() { tc.Close() })
		return tc
	}
	start := time.Now()

	// A stream that is never read: up to 16,000 tokens with 20 top
	// logprobs each (about 1 kB a token, far more than the socket buffers
	// hold).
	stalled := dial()
	big := chatBody{user: "tell me a long story", maxTokens: 16000, ignoreEOS: true, stream: true, topLogprobs: 20}
	if _, err := io.WriteString(stalled, rawRequest("/v1/chat/completions", key, big.JSON())); err != nil {
		t.Fatal(err)
	}

	// A client that sends half its headers, and one that sends its headers
	// and 10 of 1,000 body bytes; both then wait.
	type dropped struct {
		after time.Duration
		reply string
	}
	slowHeader, slowBody := make(chan dropped, 1), make(chan dropped, 1)
	waitDrop := func(c net.Conn, ch chan<- dropped) {
		t0 := time.Now()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(c) // until the server closes (or the deadline)
		first, _, _ := strings.Cut(string(b), "\r\n")
		ch <- dropped{time.Since(t0), first}
	}
	hc := dial()
	io.WriteString(hc, "POST /v1/chat/completions HTTP/1.1\r\nHost: sputnik\r\nContent-Type: appli")
	go waitDrop(hc, slowHeader)
	bc := dial()
	io.WriteString(bc, fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: sputnik\r\nAuthorization: Bearer %s\r\nContent-Length: 1000\r\n\r\n{\"messages\"", key))
	go waitDrop(bc, slowBody)

	// Meanwhile, other streams must finish promptly.
	time.Sleep(300 * time.Millisecond) // let the stalled stream fill the buffers and block
	const others = 8
	var wg sync.WaitGroup
	lat := make([]time.Duration, others)
	errs := make([]error, others)
	for i := range others {
		wg.Go(func() {
			t0 := time.Now()
			out, err := s.chatStream(context.Background(), chatBody{user: fmt.Sprintf("request %d", i), maxTokens: 16, ignoreEOS: true})
			if err == nil && len(out.tokens) != 16 {
				err = fmt.Errorf("%d tokens, want 16", len(out.tokens))
			}
			lat[i], errs[i] = time.Since(t0), err
		})
	}
	wg.Wait()
	othersDone := time.Since(start)
	runningThen := s.e.Stats().Running
	var worst time.Duration
	for i := range others {
		if errs[i] != nil {
			t.Errorf("request %d beside the stalled clients: %v", i, errs[i])
		}
		worst = max(worst, lat[i])
	}
	if worst > 5*time.Second {
		t.Errorf("the slowest request beside the stalled clients took %v; want < 5 s", worst)
	}
	if runningThen == 0 {
		// Only the stalled request can still run: the others are done.
		t.Errorf("the stalled stream had ended before the other requests finished (after %v); the test proves nothing", othersDone)
	}

	// The stalled stream is dropped after the write timeout: its request
	// is cancelled and its blocks freed.
	st := waitIdle(s.e, 30*time.Second)
	stallEnded := time.Since(start)
	if st.Running != 0 || st.KVBlocksUsed != 0 {
		t.Errorf("the stalled stream still runs after %v: %+v", stallEnded, st)
	}
	stalled.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, rerr := io.ReadAll(stalled)
	if rerr != nil {
		t.Errorf("the stalled stream's connection: %v; want it closed by the server", rerr)
	}
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 200")) || bytes.Contains(got, []byte("data: [DONE]")) {
		t.Errorf("the stalled stream: read %d bytes (%.40q…); want a 200 stream cut before [DONE]", len(got), got)
	}
	h, b := <-slowHeader, <-slowBody
	t.Logf("%d streams beside a stalled stream (blocked in a write) and two slow senders: all done %.3f s after the start, slowest %v; the stalled stream was still running then (running %d)",
		others, othersDone.Seconds(), worst.Round(time.Millisecond), runningThen)
	t.Logf("stalled stream (write timeout %v) dropped (connection closed) and its request cancelled %.2f s after it was sent, %d bytes reached the client (socket buffers), no [DONE]; engine then: running %d, KV blocks used %d",
		cfg.WriteTimeout, stallEnded.Seconds(), len(got), st.Running, st.KVBlocksUsed)
	t.Logf("slow headers (read-header timeout %v): connection closed after %v, reply %q", cfg.ReadHeaderTimeout, h.after.Round(time.Millisecond), h.reply)
	t.Logf("slow body (read timeout %v): answered after %v with %q", cfg.ReadTimeout, b.after.Round(time.Millisecond), b.reply)
	if h.after > cfg.ReadHeaderTimeout+2*time.Second || h.after < cfg.ReadHeaderTimeout/2 {
		t.Errorf("slow headers: dropped after %v; want about %v", h.after, cfg.ReadHeaderTimeout)
	}
	if b.after > cfg.ReadTimeout+2*time.Second || b.reply != "HTTP/1.1 408 Request Timeout" {
		t.Errorf("slow body: %q after %v; want 408 after about %v", b.reply, b.after, cfg.ReadTimeout)
	}
}

// smallBufListener gives accepted connections a small send buffer.
type smallBufListener struct{ net.Listener }

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}
