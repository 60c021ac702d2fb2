package deepseek2

import (
	"bytes"
	"context"
	"github.com/sputnik-llm/sputnik/internal/kvcache"
	"math"
	"testing"

	"github.com/sputnik-llm/sputnik/internal/gguf"
	"github.com/sputnik-llm/sputnik/internal/model"
	"github.com/sputnik-llm/sputnik/internal/testutil"
)

// FuzzLoadMetadata rewrites one or two hyperparameters of the tiny q4_0
// golden model to arbitrary values (or deletes them) and checks that Load
// either fails with an error or returns a model whose forward pass runs:
// bad metadata must never panic.
func FuzzLoadMetadata(f *testing.F) {
	src := testutil.SharedFile(f, "golden/models/deepseek2-tiny-q4_0.gguf")
	base, err := gguf.Open(src)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { base.Close() })
	var keys []string
	for _, kv := range base.KV {
		if len(kv.Key) > 10 && kv.Key[:10] == "deepseek2." {
			keys = append(keys, kv.Key)
		}
	}
	f.Add(uint8(0), int64(0), uint8(1), int64(5), false)
	f.Add(uint8(3), int64(-1), uint8(7), int64(1<<40), false)
	f.Add(uint8(12), int64(3), uint8(13), int64(0), true)
	f.Add(uint8(20), int64(17), uint8(21), int64(2), false)
	f.Add(uint8(30), int64(64), uint8(31), int64(7), false)
	f.Fuzz(func(t *testing.T, k1 uint8, v1 int64, k2 uint8, v2 int64, del bool) {
		set := map[string]any{}
		edit := func(k uint8, v int64, del bool) {
			key := keys[int(k)%len(keys)]
			if del {
				set[key] = nil
				return
			}
			old, _ := base.Get(key)
			switch old.Any().(type) {
			case uint32:
				set[key] = uint32(v)
			case int32:
				set[key] = int32(v)
			case float32:
				set[key] = float32(v) / 8
			case bool:
				set[key] = v&1 == 1
			case string:
				set[key] = []string{"yarn", "linear", "none", ""}[uint64(v)%4]
			default:
				set[key] = v
			}
		}
		edit(k1, v1, false)
		edit(k2, v2, del)
		w := gguf.NewWriter()
		for _, kv := range base.KV {
			if v, ok := set[kv.Key]; ok {
				if v != nil {
					w.AddKV(kv.Key, v)
				}
				continue
			}
			w.AddKV(kv.Key, kv.Value)
		}
		for i := range base.Tensors {
			ti := &base.Tensors[i]
			w.AddTensor(ti.Name, ti.Type, ti.Shape, base.TensorData(ti))
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		file, err := gguf.ParseBytes(buf.Bytes())
		if err != nil {
			return
		}
		m, err := Load(file)
		if err != nil {
			return
		}
		st := m.NewState(8)
		seq, err := kvcache.NewSeq(m.Info().KVLayout, 8)
		if err != nil {
			return
		}
		var b model.Batch
		for i, id := range []int32{8192, 100, 200} {
			b.Add(seq, id, i == 2)
		}
		logits := make([]float32, m.Info().VocabSize)
		if err := m.Forward(context.Background(), st, &b, logits); err != nil {
			return
		}
		_ = math.Float32bits(logits[0]) // NaN logits are acceptable for absurd but consistent metadata
	})
}
