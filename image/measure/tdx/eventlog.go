package tdx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// AlgSHA384 is the TCG algorithm ID of SHA-384, the only bank a TD has.
const AlgSHA384 = 0x000c

const evNoAction = 0x00000003

// LogEvent is one event of a TCG2 ("crypto agile") event log: a TPM's
// (Linux: /sys/kernel/security/tpm0/binary_bios_measurements) or a TD's
// CCEL, where Index is the CC measurement register (1..4 for RTMR0..3)
// rather than a PCR.
type LogEvent struct {
	Index   uint32
	Type    uint32
	Digests map[uint16][]byte // by TCG algorithm ID
	Data    []byte
}

// Log limits: real logs hold a few hundred events of at most a few KiB.
const (
	maxLogEvents    = 1 << 16
	maxLogEventData = 16 << 20
	maxDigestAlgs   = 16
)

// ParseLog decodes a TCG2 event log: the SHA-1-format Spec ID event that
// names the digest sizes, then TCG_PCR_EVENT2 records. Trailing 0x00 or
// 0xFF bytes (unused log space) end the log.
func ParseLog(b []byte) ([]LogEvent, error) {
	r := &logReader{b: b}
	// TCG_PCR_EVENT: index, type, SHA-1 digest, size, data.
	idx, typ := r.u32(), r.u32()
	r.bytes(20)
	spec := r.bytes(int(r.u32()))
	if r.err != nil {
		return nil, fmt.Errorf("tdx: event log header: %w", r.err)
	}
	if idx != 0 || typ != evNoAction || len(spec) < 28 || !bytes.HasPrefix(spec, []byte("Spec ID Event03\x00")) {
		return nil, errors.New("tdx: event log: no TCG2 Spec ID event first (not a crypto-agile log)")
	}
	n := binary.LittleEndian.Uint32(spec[24:])
	if n == 0 || n > maxDigestAlgs || len(spec) < 28+4*int(n) {
		return nil, fmt.Errorf("tdx: event log: Spec ID event lists %d algorithms", n)
	}
	sizes := map[uint16]int{}
	for i := 0; i < int(n); i++ {
		sizes[binary.LittleEndian.Uint16(spec[28+4*i:])] = int(binary.LittleEndian.Uint16(spec[30+4*i:]))
	}
	var out []LogEvent
	for len(r.b) > 0 {
		// The unused rest of the log area: zeroes, or the 0xFF that
		// edk2's TdTcg2Dxe and Tcg2Dxe fill it with before the first
		// event (a TD's CCEL as Linux exposes it keeps that padding).
		if allByte(r.b, 0) || allByte(r.b, 0xff) {
			break
		}
		if len(out) == maxLogEvents {
			return nil, fmt.Errorf("tdx: event log: more than %d events", maxLogEvents)
		}
		e := LogEvent{Index: r.u32(), Type: r.u32(), Digests: map[uint16][]byte{}}
		count := r.u32()
		if r.err == nil && (count == 0 || count > maxDigestAlgs) {
			return nil, fmt.Errorf("tdx: event log: event %d has %d digests", len(out), count)
		}
		for i := 0; r.err == nil && i < int(count); i++ {
			alg := r.u16()
			size, ok := sizes[alg]
			if !ok && r.err == nil {
				return nil, fmt.Errorf("tdx: event log: event %d: digest algorithm %#x not in the Spec ID event", len(out), alg)
			}
			e.Digests[alg] = r.bytes(size)
		}
		size := r.u32()
		if size > maxLogEventData {
			return nil, fmt.Errorf("tdx: event log: event %d: %d bytes of data", len(out), size)
		}
		e.Data = r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("tdx: event log: event %d: %w", len(out), r.err)
		}
		out = append(out, e)
	}
	return out, nil
}

func allByte(b []byte, v byte) bool {
	for _, c := range b {
		if c != v {
			return false
		}
	}
	return true
}

type logReader struct {
	b   []byte
	err error
}

func (r *logReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = fmt.Errorf("truncated: want %d bytes, %d left", n, len(r.b))
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *logReader) u32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *logReader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}
