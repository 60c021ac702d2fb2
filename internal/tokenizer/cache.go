package tokenizer

import (
	"hash/maphash"
	"strings"
	"sync"
)

// wordCache memoizes the BPE tokens of short pre-tokenized pieces. Ordinary
// text repeats its words, so most pieces are found here instead of being
// merged again. It is sharded by hash to keep lock contention low, and each
// shard is simply emptied when full, which bounds its memory.
type wordCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.Mutex // guards m
	m  map[string][]int32
}

const (
	cacheShards   = 16
	cacheShardMax = 4096 // entries per shard
	cacheMaxLen   = 32   // longest piece (bytes) worth caching
)

func newWordCache() *wordCache {
	c := &wordCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].m = make(map[string][]int32)
	}
	return c
}

func (c *wordCache) shard(w string) *cacheShard {
	return &c.shards[maphash.String(c.seed, w)%cacheShards]
}

// get returns the cached ids of w; the slice must not be modified.
func (c *wordCache) get(sh *cacheShard, w string) ([]int32, bool) {
	sh.mu.Lock()
	ids, ok := sh.m[w]
	sh.mu.Unlock()
	return ids, ok
}

func (c *wordCache) put(sh *cacheShard, w string, ids []int32) {
	v := append([]int32(nil), ids...)
	sh.mu.Lock()
	if len(sh.m) >= cacheShardMax {
		clear(sh.m)
	}
	sh.m[strings.Clone(w)] = v
	sh.mu.Unlock()
}
