package model

import "fmt"

// CacheType is the element type of a State's key and value cache, as
// llama.cpp's --cache-type-k and --cache-type-v name it.
type CacheType uint8

const (
	// CacheF16 rounds keys and values to F16, and attention rounds the
	// query and its weights to F16 too, as ggml does with an F16 cache.
	CacheF16 CacheType = iota
	// CacheF32 keeps keys, values, the query and the attention weights in
	// float32: twice the cache memory, for output closer to exact.
	CacheF32
)

// CacheTypes are the names ParseCacheType accepts, in order.
var CacheTypes = []string{"f16", "f32"}

func (t CacheType) String() string {
	if int(t) < len(CacheTypes) {
		return CacheTypes[t]
	}
	return fmt.Sprintf("CacheType(%d)", uint8(t))
}

// ParseCacheType reads a cache type by its llama.cpp name.
func ParseCacheType(s string) (CacheType, error) {
	for i, name := range CacheTypes {
		if s == name {
			return CacheType(i), nil
		}
	}
	return 0, fmt.Errorf("model: cache type %q: want one of %v", s, CacheTypes)
}

// Size is the bytes of one cached key or value element.
func (t CacheType) Size() int {
	if t == CacheF32 {
		return 4
	}
	return 2
}
