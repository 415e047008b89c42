package gguf

import (
	"fmt"
	"math"
)

// The accessors below return an error naming the key when it is missing or
// holds another type, so a loader can wrap it and stop.

func (f *File) lookup(key string) (KV, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return KV{}, false
	}
	return f.Metadata[i], true
}

func (f *File) get(key string) (KV, error) {
	kv, ok := f.lookup(key)
	if !ok {
		return KV{}, fmt.Errorf("gguf: metadata %q is missing", key)
	}
	return kv, nil
}

// HasKey reports whether a metadata key is present.
func (f *File) HasKey(key string) bool { _, ok := f.kvIndex[key]; return ok }

// Value returns a metadata value as stored (see KV), or nil.
func (f *File) Value(key string) any {
	kv, _ := f.lookup(key)
	return kv.Value
}

// String returns a string metadata value.
func (f *File) String(key string) (string, error) {
	kv, err := f.get(key)
	if err != nil {
		return "", err
	}
	s, ok := kv.Value.(string)
	if !ok {
		return "", fmt.Errorf("gguf: metadata %q is %s, not string", key, kv.Type)
	}
	return s, nil
}

// asInt64 widens any integer value; ok is false for other types.
func asInt64(v any) (n int64, unsigned uint64, isUnsigned, ok bool) {
	switch x := v.(type) {
	case uint8:
		return 0, uint64(x), true, true
	case uint16:
		return 0, uint64(x), true, true
	case uint32:
		return 0, uint64(x), true, true
	case uint64:
		return 0, x, true, true
	case int8:
		return int64(x), 0, false, true
	case int16:
		return int64(x), 0, false, true
	case int32:
		return int64(x), 0, false, true
	case int64:
		return x, 0, false, true
	}
	return 0, 0, false, false
}

// Uint returns an integer metadata value of any integer type, refusing
// negative values.
func (f *File) Uint(key string) (uint64, error) {
	kv, err := f.get(key)
	if err != nil {
		return 0, err
	}
	s, u, unsigned, ok := asInt64(kv.Value)
	if !ok {
		return 0, fmt.Errorf("gguf: metadata %q is %s, not an integer", key, kv.Type)
	}
	if unsigned {
		return u, nil
	}
	if s < 0 {
		return 0, fmt.Errorf("gguf: metadata %q is negative (%d)", key, s)
	}
	return uint64(s), nil
}

// Int returns a non-negative integer metadata value that is at most max.
func (f *File) Int(key string, max int) (int, error) {
	v, err := f.Uint(key)
	if err != nil {
		return 0, err
	}
	if v > uint64(max) {
		return 0, fmt.Errorf("gguf: metadata %q is %d, more than %d", key, v, max)
	}
	return int(v), nil
}

// Float returns a float metadata value (float32 or float64).
func (f *File) Float(key string) (float64, error) {
	kv, err := f.get(key)
	if err != nil {
		return 0, err
	}
	switch x := kv.Value.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	return 0, fmt.Errorf("gguf: metadata %q is %s, not a float", key, kv.Type)
}

// Bool returns a bool metadata value.
func (f *File) Bool(key string) (bool, error) {
	kv, err := f.get(key)
	if err != nil {
		return false, err
	}
	b, ok := kv.Value.(bool)
	if !ok {
		return false, fmt.Errorf("gguf: metadata %q is %s, not bool", key, kv.Type)
	}
	return b, nil
}

// Strings returns a string array.
func (f *File) Strings(key string) ([]string, error) {
	kv, err := f.get(key)
	if err != nil {
		return nil, err
	}
	s, ok := kv.Value.([]string)
	if !ok {
		return nil, fmt.Errorf("gguf: metadata %q is %s, not a string array", key, describe(kv))
	}
	return s, nil
}

// Int32s returns an int32 array as stored (token types, for example).
func (f *File) Int32s(key string) ([]int32, error) {
	kv, err := f.get(key)
	if err != nil {
		return nil, err
	}
	s, ok := kv.Value.([]int32)
	if !ok {
		return nil, fmt.Errorf("gguf: metadata %q is %s, not an int32 array", key, describe(kv))
	}
	return s, nil
}

// Ints returns an array of any integer type widened to int64; uint64
// elements above math.MaxInt64 are refused.
func (f *File) Ints(key string) ([]int64, error) {
	kv, err := f.get(key)
	if err != nil {
		return nil, err
	}
	out, ok := widen(kv.Value, func(v any) (int64, bool) {
		s, u, unsigned, ok := asInt64(v)
		if !ok || (unsigned && u > math.MaxInt64) {
			return 0, false
		}
		if unsigned {
			return int64(u), true
		}
		return s, true
	})
	if !ok {
		return nil, fmt.Errorf("gguf: metadata %q is %s, not an integer array", key, describe(kv))
	}
	return out, nil
}

// Floats returns a float32 or float64 array widened to float64.
func (f *File) Floats(key string) ([]float64, error) {
	kv, err := f.get(key)
	if err != nil {
		return nil, err
	}
	out, ok := widen(kv.Value, func(v any) (float64, bool) {
		switch x := v.(type) {
		case float32:
			return float64(x), true
		case float64:
			return x, true
		}
		return 0, false
	})
	if !ok {
		return nil, fmt.Errorf("gguf: metadata %q is %s, not a float array", key, describe(kv))
	}
	return out, nil
}

// widen converts a typed scalar slice element by element.
func widen[T any](v any, conv func(any) (T, bool)) ([]T, bool) {
	var out []T
	each := func(n int, at func(int) any) bool {
		out = make([]T, n)
		for i := range out {
			x, ok := conv(at(i))
			if !ok {
				return false
			}
			out[i] = x
		}
		return true
	}
	switch s := v.(type) {
	case []uint8:
		return out, each(len(s), func(i int) any { return s[i] })
	case []int8:
		return out, each(len(s), func(i int) any { return s[i] })
	case []uint16:
		return out, each(len(s), func(i int) any { return s[i] })
	case []int16:
		return out, each(len(s), func(i int) any { return s[i] })
	case []uint32:
		return out, each(len(s), func(i int) any { return s[i] })
	case []int32:
		return out, each(len(s), func(i int) any { return s[i] })
	case []uint64:
		return out, each(len(s), func(i int) any { return s[i] })
	case []int64:
		return out, each(len(s), func(i int) any { return s[i] })
	case []float32:
		return out, each(len(s), func(i int) any { return s[i] })
	case []float64:
		return out, each(len(s), func(i int) any { return s[i] })
	}
	return nil, false
}

// describe names a value's type for errors, with the element type of arrays.
func describe(kv KV) string {
	if kv.Type != TypeArray {
		return kv.Type.String()
	}
	if t, ok := elemTypeOf(kv.Value); ok {
		return "array of " + t.String()
	}
	return "array"
}

// fileTypeNames are llama.cpp's llama_ftype values (general.file_type), the
// names its users know a file by; the per-tensor mix differs from the name.
var fileTypeNames = map[uint64]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
	10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M",
	16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 32: "BF16",
}

// FileType names the file's general.file_type ("Q4_K_M"), or returns ""
// when the file does not say or says something llama.cpp does not name.
func (f *File) FileType() string {
	ft, err := f.Uint("general.file_type")
	if err != nil {
		return ""
	}
	return fileTypeNames[ft]
}
