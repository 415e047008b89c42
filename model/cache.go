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

// CacheTypeNames is the names ParseCacheType accepts, for help texts.
const CacheTypeNames = "f16 or f32"

func (t CacheType) String() string {
	switch t {
	case CacheF16:
		return "f16"
	case CacheF32:
		return "f32"
	}
	return fmt.Sprintf("CacheType(%d)", uint8(t))
}

// ParseCacheType reads a cache type by its llama.cpp name.
func ParseCacheType(s string) (CacheType, error) {
	for _, t := range []CacheType{CacheF16, CacheF32} {
		if s == t.String() {
			return t, nil
		}
	}
	return 0, fmt.Errorf("cache type %q: want %s", s, CacheTypeNames)
}

// Set and the String above make a *CacheType a flag.Value.
func (t *CacheType) Set(s string) (err error) {
	*t, err = ParseCacheType(s)
	return err
}

// Size is the bytes of one cached key or value element.
func (t CacheType) Size() int {
	if t == CacheF32 {
		return 4
	}
	return 2
}
