package kernels

// The Q8_K quantisers of quantk_amd64.s; see the comment there.

//go:noescape
func quantQ8_KD(nb int, src *float32, dst *byte) (finite bool)

// quantQ8_KAVX2 in decode_amd64.s, which quantQ8_KD replaces, stays until
// that file's edits in flight have landed; this keeps it referenced.
var _ = quantQ8_KAVX2
