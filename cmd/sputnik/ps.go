package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sputnik-llm/sputnik/internal/server/openai"
)

// defaultHost is where ps looks for a server when neither --host nor
// SPUTNIK_HOST names one: serve's default address.
const defaultHost = "127.0.0.1:8080"

// runPs shows what a running sputnik serve has loaded, as ollama ps does:
// the model names from GET /v1/models and, from GET /metrics, the requests
// running and waiting and the KV cache's use.
func runPs(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ps", stderr)
	host := fs.String("host", "", "server `address` (host:port or URL; default $SPUTNIK_HOST, else "+defaultHost+")")
	apiKey := fs.String("api-key", "", "the server's API key (default: $SPUTNIK_API_KEY)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: sputnik ps [--host HOST:PORT] [--api-key KEY] [--json]")
		fmt.Fprintln(fs.Output(), "\nShows the models a running 'sputnik serve' has loaded, its requests and KV cache.")
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *host == "" {
		*host = os.Getenv("SPUTNIK_HOST")
	}
	if *apiKey == "" {
		*apiKey = os.Getenv("SPUTNIK_API_KEY")
	}
	base := hostURL(*host)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var list openai.ModelList
	if err := getJSON(ctx, base+"/v1/models", *apiKey, &list); err != nil {
		return err
	}
	metrics, err := getMetrics(ctx, base+"/metrics")
	if err != nil {
		return err
	}
	if *asJSON {
		models := make([]map[string]any, len(list.Data))
		for i, m := range list.Data {
			models[i] = map[string]any{"name": m.ID, "context_length": m.ContextLength, "created": m.Created}
		}
		return json.NewEncoder(stdout).Encode(map[string]any{
			"host": base, "models": models,
			"requests_running": metrics["sputnik_num_requests_running"],
			"requests_waiting": metrics["sputnik_num_requests_waiting"],
			"kv_cache_usage":   metrics["sputnik_kv_cache_usage_perc"],
			"kv_cache_bytes":   metrics["sputnik_kv_cache_bytes"],
		})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCONTEXT\tRUNNING\tWAITING\tKV CACHE")
	for _, m := range list.Data {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.0f%% of %s\n", m.ID, m.ContextLength,
			metrics["sputnik_num_requests_running"], metrics["sputnik_num_requests_waiting"],
			100*metrics["sputnik_kv_cache_usage_perc"], humanBytes(uint64(metrics["sputnik_kv_cache_bytes"])))
	}
	return tw.Flush()
}

// hostURL turns "host:port", ":port", "host" or a URL into a base URL
// without a trailing slash.
func hostURL(h string) string {
	h = strings.TrimRight(strings.TrimSpace(h), "/")
	if h == "" {
		h = defaultHost
	}
	if strings.Contains(h, "://") {
		return h
	}
	if strings.HasPrefix(h, ":") {
		h = "127.0.0.1" + h
	}
	if !strings.Contains(h, ":") || strings.HasSuffix(h, "]") {
		h += ":8080"
	}
	return "http://" + h
}

// getJSON fetches url and decodes its JSON body into v; an error answer
// is reported with the server's message.
func getJSON(ctx context.Context, url, apiKey string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("no sputnik server answers at %s (start one with 'sputnik serve', or name it with --host or SPUTNIK_HOST): %w", strings.TrimSuffix(url, "/v1/models"), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error struct{ Message string } }
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s: %s: %s", url, resp.Status, e.Error.Message)
		}
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.Unmarshal(body, v)
}

// getMetrics reads the unlabelled samples of a Prometheus text page.
func getMetrics(ctx context.Context, url string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 16<<20))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(name, "{") {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[0], 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}
