package kernels

import "unsafe"

// attnQueries is how many tokens of one head attendTiled takes at a time:
// each key and value converted from F16 serves that many queries.
const attnQueries = 4

// attnKernels are a path's tiled attention loops (attn_amd64.s), over an
// F16 cache and a float32 one, and the softmax's max and sum.
type attnKernels struct {
	f16, f32 attnLoops
	// f16w and f32w, where set, take head sizes that are a multiple of
	// 16 instead: wider registers, whose scores sum in another order, so
	// one head size takes one pair of loops for every batch.
	f16w, f32w attnLoops
	// max and sum are the softmax's (softmax) over n, a multiple of 8,
	// scores: max as Go's (NaN if any is NaN), sum in float64.
	max func(n int, x *float32) float32
	sum func(n int, x *float32) float64
}

// attnLoops are the loops over one kind of cache (k and v point at its
// elements). scores writes the scores of four queries (or one) against
// keys 0..n-1, times scale; pv adds four (or one) rows of weights' sums of
// values 0..n-1 to their outputs. Strides are in bytes, d a multiple of
// 8. Each result's order of additions is the same whichever takes it, so
// a batch of tokens gets the bits that one token at a time gets.
type attnLoops struct {
	scores4 func(n, d int, q *float32, qs int, k unsafe.Pointer, ks int, scale float32, sc *float32, ss int)
	scores1 func(n, d int, q *float32, k unsafe.Pointer, ks int, scale float32, sc *float32)
	pv4     func(n, d int, p *float32, ps int, v unsafe.Pointer, vs int, out *float32, os int)
	pv1     func(n, d int, p *float32, v unsafe.Pointer, vs int, out *float32)
}

// attendTiled attends g (at most attnQueries) queries at once: tokens
// i..i+g-1 of head h, or with byHead, heads h..h+g-1 (one KV head's) of
// token i. As attendHead, each query's output doubles as its F16-rounded
// query until its scores are known. Query u's scores take row u of head
// h's scratch. Token i sees positions 0..pos+i, so the first pos+i+1 are
// every query's, and token i+u's last u its own.
//
// A partial group of two or three heads still takes the four-query
// loops, whose each key and value converted once serve every head (the
// one-query loops, a pass per head, took most of decode's attention for
// Qwen2.5's seven heads a KV head, grouped four and three): its queries
// and outputs move to rows of the scratch that heads h+1..h+g-1 own and
// byHead leaves unused, the missing queries zero, and the outputs back
// once done. The loops give each query the bits they give it alone.
func (j *attnJob) attendTiled(a *attnKernels, h, i, g int, byHead bool) {
	d, ctx, row := j.d, j.pos+j.nTok, j.heads*j.d
	// Query u's output (and query) at u·qs floats past the first's, its
	// positions n0+u·dn.
	qs, dn := row, 1
	if byHead {
		qs, dn = d, 0
	}
	f32 := j.kf != nil
	first := i*row + h*d
	// spare, for a partial group of heads, holds its queries and outputs;
	// the four-query loops then take it (four).
	var spare []float32
	if byHead && g > 1 && g < attnQueries && (g-1)*ctx >= d {
		spare = j.scores[attnQueries*(h+1)*ctx:][:attnQueries*d]
	}
	four := g == attnQueries || spare != nil
	var out, sc [attnQueries][]float32
	for u := range attnQueries {
		switch {
		case spare != nil:
			out[u] = spare[u*d:][:d]
		case u < g:
			out[u] = j.out[first+u*qs:][:d]
		default:
			continue
		}
		sc[u] = j.scores[attnQueries*h*ctx+u*ctx:][:ctx]
		switch {
		case u >= g:
			clear(out[u]) // a missing query: zero, and so are its scores
		case f32:
			copy(out[u], j.q[first+u*qs:][:d])
		default:
			activeFloat.roundF16s(out[u], j.q[first+u*qs:][:d], 1)
		}
	}
	// The cache of KV head h/group from position 0 (k, v) through the
	// last one's row (end), position t at t·ks bytes.
	n0, last := j.pos+i+1, j.pos+i+1+(g-1)*dn
	off := (h / j.group) * d
	end := off + (last-1)*j.stride + d
	var l attnLoops
	var k, v unsafe.Pointer
	var ks int
	wide := d%16 == 0 && a.f16w.scores4 != nil
	switch {
	case f32:
		l, ks = a.f32, 4*j.stride
		if wide {
			l = a.f32w
		}
		k, v = unsafe.Pointer(&j.kf[off:end][0]), unsafe.Pointer(&j.vf[off:end][0])
	default:
		l, ks = a.f16, 2*j.stride
		if wide {
			l = a.f16w
		}
		k, v = unsafe.Pointer(&j.k[off:end][0]), unsafe.Pointer(&j.v[off:end][0])
	}
	if four {
		l.scores4(last, d, &out[0][0], 4*qs, k, ks, j.scale, &sc[0][0], 4*ctx)
	} else {
		for u := range g {
			l.scores1(n0+u*dn, d, &out[u][0], k, ks, j.scale, &sc[u][0])
		}
	}
	for u := range g {
		softmax(sc[u][:n0+u*dn], !f32)
		clear(out[u])
	}
	if !four {
		for u := range g {
			l.pv1(n0+u*dn, d, &sc[u][0], v, ks, &out[u][0])
		}
		return
	}
	l.pv4(n0, d, &sc[0][0], 4*ctx, v, ks, &out[0][0], 4*qs)
	if dn > 0 {
		// Token i+u sees u positions past the group's shared ones.
		for u := 1; u < g; u++ {
			l.pv1(u, d, &sc[u][n0], unsafe.Add(v, n0*ks), ks, &out[u][0])
		}
	}
	if spare != nil {
		for u := range g {
			copy(j.out[first+u*qs:][:d], out[u])
		}
	}
}
