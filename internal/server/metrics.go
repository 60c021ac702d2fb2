package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sputnik-llm/sputnik/internal/engine"
)

// Metric names of the Gateway API Inference Extension's model-server
// protocol (TotalQueuedRequests, TotalRunningRequests, KVCacheUtilization
// and the optional cache info); the endpoint picker selects them with
// --total-queued-requests-metric, --total-running-requests-metric,
// --kv-cache-usage-percentage-metric and --cache-info-metric.
const (
	MetricQueued    = "sputnik_num_requests_waiting"
	MetricRunning   = "sputnik_num_requests_running"
	MetricKVUsage   = "sputnik_kv_cache_usage_perc"
	MetricCacheInfo = "sputnik_cache_config_info"
)

// metrics are the server's Prometheus metrics, on a private registry.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	prompt    prometheus.Counter
	generated prometheus.Counter
	reasoned  prometheus.Counter
	cacheHit  prometheus.Counter
	ttft      prometheus.Histogram
	itl       prometheus.Histogram
	e2e       prometheus.Histogram
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sputnik_requests_total", Help: "HTTP requests by endpoint and status code (499: the client went away first).",
		}, []string{"endpoint", "code"}),
		prompt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sputnik_prompt_tokens_total", Help: "Prompt tokens of finished requests.",
		}),
		generated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sputnik_generation_tokens_total", Help: "Generated tokens of finished requests, reasoning included.",
		}),
		reasoned: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sputnik_reasoning_tokens_total", Help: "Generated tokens inside a <think> block (chat requests).",
		}),
		cacheHit: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sputnik_prefix_cache_hit_tokens_total", Help: "Prompt tokens whose KV cache was reused from an earlier request.",
		}),
		ttft: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sputnik_time_to_first_token_seconds", Help: "Time from the request's arrival to its first generated token.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640},
		}),
		itl: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sputnik_inter_token_latency_seconds", Help: "Time between two generated tokens of one request.",
			Buckets: []float64{.005, .01, .02, .04, .06, .08, .1, .15, .2, .3, .5, .75, 1, 2.5, 5, 10},
		}),
		e2e: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sputnik_e2e_request_latency_seconds", Help: "Time from a generation request's arrival to its last token.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560},
		}),
	}
	m.reg.MustRegister(m.requests, m.prompt, m.generated, m.reasoned, m.cacheHit, m.ttft, m.itl, m.e2e)
	m.reg.MustRegister(statsCollector{s})
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) request(endpoint string, status int) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
}

// finished records a request that ran to its end.
func (m *metrics) finished(res engine.Result, d time.Duration) {
	m.prompt.Add(float64(res.PromptTokens))
	m.generated.Add(float64(len(res.Tokens)))
	m.cacheHit.Add(float64(res.CachedTokens))
	m.e2e.Observe(d.Seconds())
}

func (m *metrics) reasoning(tokens int) { m.reasoned.Add(float64(tokens)) }

// statsCollector reads the engine's load at scrape time.
type statsCollector struct{ s *Server }

var (
	descRunning  = prometheus.NewDesc(MetricRunning, "Sequences being prefilled or decoded (TotalRunningRequests).", nil, nil)
	descQueued   = prometheus.NewDesc(MetricQueued, "Requests waiting for a slot (TotalQueuedRequests).", nil, nil)
	descKVUsage  = prometheus.NewDesc(MetricKVUsage, "Fraction of KV cache blocks referenced by running sequences, 0 to 1 (KVCacheUtilization).", nil, nil)
	descKVBlocks = prometheus.NewDesc("sputnik_kv_cache_blocks", "KV cache blocks by state: used (referenced by running sequences), cached (kept for prefix reuse), free.", []string{"state"}, nil)
	descKVBytes  = prometheus.NewDesc("sputnik_kv_cache_bytes", "Size of the KV cache pool in bytes.", nil, nil)
	descKVPerTok = prometheus.NewDesc("sputnik_kv_cache_bytes_per_token", "KV cache bytes per token over all layers.", nil, nil)
	descInfo     = prometheus.NewDesc(MetricCacheInfo, "KV cache configuration (labels block_size and num_gpu_blocks, as vLLM's cache_config_info); always 1.", []string{"block_size", "num_gpu_blocks"}, nil)
)

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRunning, descQueued, descKVUsage, descKVBlocks, descKVBytes, descKVPerTok, descInfo} {
		ch <- d
	}
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	var st engine.Stats
	if m := c.s.model.Load(); m != nil {
		st = m.Backend.Stats()
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descRunning, float64(st.Running))
	gauge(descQueued, float64(st.Queued))
	gauge(descKVUsage, st.KVUtilization())
	gauge(descKVBlocks, float64(st.KVBlocksUsed), "used")
	gauge(descKVBlocks, float64(st.KVBlocksCached), "cached")
	gauge(descKVBlocks, float64(max(0, st.KVBlocks-st.KVBlocksUsed-st.KVBlocksCached)), "free")
	gauge(descKVBytes, float64(st.KVBytes))
	gauge(descKVPerTok, float64(st.KVBytesPerTok))
	gauge(descInfo, 1, strconv.Itoa(st.KVBlockTokens), strconv.Itoa(st.KVBlocks))
}
