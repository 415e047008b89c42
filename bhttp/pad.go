package bhttp

// Padding hides how long a sealed message is. Oblivious HTTP encrypts a
// message but not its length, and the length of a conversation, of a
// summary or of each streamed token is much of what a relay or the host
// would want to know: streamed token lengths alone let an observer
// reconstruct much of an assistant's answer (Weiss et al., "What Was Your
// Prompt? A Remote Keylogging Attack on AI Assistants", USENIX Security
// 2024). Pith pads every message it seals, in both directions, to a
// bucket, so an observer learns only the bucket.

const (
	// MinPad is the smallest bucket: it holds every streamed line of a
	// generation but the rare one with a long token.
	MinPad = 256
	// padStep is where buckets stop doubling: beyond it they grow by a
	// step at a time, so no message costs more than 64 KiB of padding. A
	// limit on padded messages must allow for the padding: a body at a
	// 1 MiB limit is a BHTTP message of a little more, padded to 1 MiB +
	// 64 KiB (runtime/server's maxSealed).
	padStep = 64 << 10
)

// PadLen returns the length a message, or a piece of a stream, of n bytes
// is padded to: the next power of two from MinPad up to 64 KiB, the next
// multiple of 64 KiB beyond. It is never less than n.
func PadLen(n int) int {
	if n > padStep {
		return (n + padStep - 1) / padStep * padStep
	}
	p := MinPad
	for p < n {
		p *= 2
	}
	return p
}

// Pad appends to msg, an encoded whole message, the zero bytes that RFC
// 9292 section 3.8 allows after it (and every decoder skips), up to
// PadLen(len(msg)).
func Pad(msg []byte) []byte {
	return append(msg, make([]byte, PadLen(len(msg))-len(msg))...)
}
