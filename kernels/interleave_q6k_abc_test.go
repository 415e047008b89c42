package kernels

import (
	"math/rand/v2"
	"testing"
)

// The Q6_K group holds each element's four levels where interleave_q6k.go
// says: for rows of random levels packed as Q6_K packs them, every byte
// of every chunk's A, B and C is the level 0, 1 or 2 it should be with
// its two bits of level 3, and the heads are the rows' d and scales. Over
// 8·3·256 elements a row's levels take each of their 64 values in each of
// the four places many times, so a wrong bit anywhere fails.
func TestInterleaveQ6_KLayout(t *testing.T) {
	r := rand.New(rand.NewPCG(rand.Uint64(), 63))
	const nb = 3
	rb := nb * q6KBytes
	rows := make([]byte, interleaveRows*rb)
	var lv [interleaveRows][nb][QKK]uint8
	for row := range interleaveRows {
		for b := range nb {
			blk := rows[row*rb+b*q6KBytes:][:q6KBytes]
			q := &lv[row][b]
			for k := range q {
				q[k] = uint8(r.IntN(64))
			}
			// Q6_K's packing (quantizeQ6_K).
			for h := range 2 {
				ql, qh := blk[64*h:], blk[128+32*h:]
				for l := range 32 {
					v0, v1, v2, v3 := q[128*h+l], q[128*h+l+32], q[128*h+l+64], q[128*h+l+96]
					ql[l] = v0&0xf | v2<<4
					ql[l+32] = v1&0xf | v3<<4
					qh[l] = v0>>4 | v1>>4<<2 | v2>>4<<4 | v3>>4<<6
				}
			}
			for i := 192; i < q6KBytes; i++ {
				blk[i] = byte(r.Uint32())
			}
		}
	}
	group := make([]byte, len(rows))
	interleavers[Q6_K].interleave(group, rows, nb)
	for b := range nb {
		levels := group[b*q6kX8Levels:][:q6kX8Levels]
		head := group[nb*q6kX8Levels+b*q6kX8Head:][:q6kX8Head]
		for row := range interleaveRows {
			blk := rows[row*rb+b*q6KBytes:]
			if head[2*row] != blk[208] || head[2*row+1] != blk[209] {
				t.Fatalf("block %d row %d: d is %#x %#x in the head, %#x %#x in the row", b, row, head[2*row], head[2*row+1], blk[208], blk[209])
			}
			for s := range 16 {
				if got := head[16+16*(s/2)+2*row+s%2]; got != blk[192+s] {
					t.Fatalf("block %d row %d: scale %d is %#x in the head, %#x in the row", b, row, s, got, blk[192+s])
				}
			}
			for h := range 2 {
				for k := range 8 {
					for i := range 4 {
						l := 128*h + 2*k + i&1 + 16*(i>>1)
						q := &lv[row][b]
						v3 := q[l+96]
						want := [3]byte{q[l] | v3>>4<<6, q[l+32] | v3>>2&3<<6, q[l+64] | v3&3<<6}
						for p, w := range want {
							if got := levels[768*h+96*k+32*p+4*row+i]; got != w {
								t.Fatalf("block %d row %d half %d chunk %d: byte %d of %c is %#x, want %#x (levels %d %d %d %d)", b, row, h, k, i, "ABC"[p], got, w, q[l], q[l+32], q[l+64], v3)
							}
						}
					}
				}
			}
		}
	}
}

// The Q6_K interleaver's rate, both ways, over 64 rows of 4096 columns:
// Load interleaves whole models with it and the prefill of a few tokens
// deinterleaves with it.
func BenchmarkInterleaveQ6_K(b *testing.B) {
	const rows, nb = 64, 4096 / QKK
	src := make([]byte, rows*nb*q6KBytes)
	for i := range src {
		src[i] = byte(i * 7)
	}
	dst := make([]byte, len(src))
	g := interleaveRows * nb * q6KBytes
	il := interleavers[Q6_K]
	b.Run("interleave", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			for o := 0; o < len(src); o += g {
				il.interleave(dst[o:o+g], src[o:o+g], nb)
			}
		}
	})
	b.Run("deinterleave", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			for o := 0; o < len(src); o += g {
				il.deinterleave(src[o:o+g], dst[o:o+g], nb)
			}
		}
	})
}
