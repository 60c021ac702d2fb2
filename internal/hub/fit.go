package hub

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/sysmem"
)

// DefaultContext is the context length the fit check assumes: the default
// --ctx of sputnik's commands.
const DefaultContext = 4096

// Fit is the fit check of a pull: what the model needs against what the
// machine has. Unknown figures are 0 (memory, KV cache) or -1 (disk).
type Fit struct {
	ModelBytes    int64  // all parts
	DownloadBytes int64  // still to download (parts or partial files present are not counted)
	KVBytes       int64  // f16 KV cache for Context tokens, estimated from the metadata
	Context       int    // tokens the KV figure is for
	MemBytes      int64  // memory the process may use (sysmem.Limit)
	MemSource     string // "RAM", "cgroup v2 limit", …
	FreeDisk      int64  // free bytes on the store's file system, -1 if unknown
}

// DiskOK reports whether the download fits on the disk (or the free space
// is unknown).
func (f Fit) DiskOK() bool { return f.FreeDisk < 0 || f.DownloadBytes <= f.FreeDisk }

// Warnings returns one line per problem the fit check found: not enough
// disk, or a model plus KV cache larger than memory (it will still run, from
// disk, slowly).
func (f Fit) Warnings() []string {
	var w []string
	if !f.DiskOK() {
		w = append(w, fmt.Sprintf("the download needs %s but only %s is free on the disk", humanBytes(f.DownloadBytes), humanBytes(f.FreeDisk)))
	}
	if need := f.ModelBytes + f.KVBytes; f.MemBytes > 0 && need > f.MemBytes-f.MemBytes/10 {
		kv := ""
		if f.KVBytes > 0 {
			kv = fmt.Sprintf(" + %s KV cache for %d tokens", humanBytes(f.KVBytes), f.Context)
		}
		w = append(w, fmt.Sprintf("the model (%s%s) is larger than the memory this process may use (%s, %s): "+
			"it will run with weights read from disk as needed, which is much slower", humanBytes(f.ModelBytes), kv, humanBytes(f.MemBytes), f.MemSource))
	}
	return w
}

// headerBytes is how much of the first part the fit check reads for the
// metadata (a 150k-token vocabulary takes a few MiB).
const headerBytes = 16 << 20

// checkFit fills a Fit for variant v, whose first part is fetched in part
// for its metadata (a failure there leaves KVBytes 0).
func (c *Client) checkFit(ctx context.Context, repo string, v Variant, download int64, dir string) Fit {
	f := Fit{ModelBytes: v.Size(), DownloadBytes: download, Context: DefaultContext, FreeDisk: diskFree(dir)}
	f.MemBytes, f.MemSource = sysmem.Limit()
	if meta, err := c.metadata(ctx, repo, v.Files[0]); err == nil {
		perTok, ctxMax := kvPerToken(meta)
		if ctxMax > 0 && ctxMax < f.Context {
			f.Context = ctxMax
		}
		f.KVBytes = perTok * int64(f.Context)
	}
	return f
}

// metadata reads the GGUF metadata at the start of a remote file.
func (c *Client) metadata(ctx context.Context, repo string, rf RemoteFile) (*gguf.File, error) {
	// The header is advisory and small: a server that stalls on it gets
	// one stall timeout in all.
	ctx, cancel := context.WithTimeout(ctx, c.stallTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.Endpoint+"/"+repo+"/resolve/main/"+escapePath(rf.Path), nil)
	if err != nil {
		return nil, err
	}
	c.authorize(req)
	req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", headerBytes-1))
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := statusErr(resp, repo, rf.Path); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, headerBytes))
	if err != nil {
		return nil, err
	}
	return gguf.ParseMetadata(b)
}

// kvPerToken estimates the f16 KV cache bytes per token from a model's
// metadata, and returns its context length: 2 bytes × layers × (key +
// value widths), where an MLA model (attention.kv_lora_rank present)
// caches only its latent and rope key. 0 when the keys are missing.
func kvPerToken(f *gguf.File) (perTok int64, ctxLen int) {
	arch := f.Architecture()
	get := func(key string) int64 {
		v, err := f.Int(arch + "." + key)
		if err != nil {
			return 0
		}
		return v
	}
	layers, heads, embd := get("block_count"), get("attention.head_count"), get("embedding_length")
	ctxLen = int(get("context_length"))
	if lora := get("attention.kv_lora_rank"); lora > 0 {
		return 2 * layers * (lora + get("rope.dimension_count")), ctxLen
	}
	if heads <= 0 {
		return 0, ctxLen
	}
	kvHeads := get("attention.head_count_kv")
	if kvHeads <= 0 {
		kvHeads = heads
	}
	kLen, vLen := get("attention.key_length"), get("attention.value_length")
	if kLen <= 0 {
		kLen = embd / heads
	}
	if vLen <= 0 {
		vLen = kLen
	}
	return 2 * layers * kvHeads * (kLen + vLen), ctxLen
}

// diskFree is freeDisk, replaced by tests.
var diskFree = freeDisk
