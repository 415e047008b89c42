package bench

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMannWhitneySciPy checks the published example of SciPy's
// scipy.stats.mannwhitneyu documentation (ages of male and female
// employees): U1 = 17 and exact two-sided p = 0.1111 (1/9).
func TestMannWhitneySciPy(t *testing.T) {
	males := []float64{19, 22, 16, 29, 24}
	females := []float64{20, 11, 17, 12}
	u, p := MannWhitney(males, females)
	if u != 17 {
		t.Fatalf("U = %v, want 17", u)
	}
	if math.Abs(p-1.0/9) > 1e-12 {
		t.Fatalf("p = %v, want 0.11111 (SciPy, method='exact')", p)
	}
	// Swapping the samples gives U2 = n1*n2 - U1 and the same p.
	u2, p2 := MannWhitney(females, males)
	if u2 != 3 || p2 != p {
		t.Fatalf("swapped: U = %v p = %v, want 3 and %v", u2, p2, p)
	}
}

// TestExactUpperBruteForce checks the recurrence against the definition:
// every way of choosing which of n1+n2 distinct ranks belong to x.
func TestExactUpperBruteForce(t *testing.T) {
	for _, c := range [][2]int{{1, 1}, {2, 3}, {3, 3}, {4, 5}, {5, 5}, {6, 4}} {
		n1, n2 := c[0], c[1]
		n := n1 + n2
		counts := make([]float64, n1*n2+1)
		total := 0.0
		for mask := 0; mask < 1<<n; mask++ {
			if popcount(mask) != n1 {
				continue
			}
			// U counts pairs (x, y) with x ranked above y.
			u, ys := 0, 0
			for r := 0; r < n; r++ {
				if mask&(1<<r) != 0 {
					u += ys
				} else {
					ys++
				}
			}
			counts[u]++
			total++
		}
		upper := 0.0
		for u := n1 * n2; u >= 0; u-- {
			upper += counts[u]
			if got, want := exactUpper(n1, n2, float64(u)), upper/total; math.Abs(got-want) > 1e-12 {
				t.Fatalf("n=%d+%d: P(U >= %d) = %v, brute force %v", n1, n2, u, got, want)
			}
		}
		if got, want := minPValue(n1, n2), math.Min(1, 2/total); math.Abs(got-want) > 1e-12 {
			t.Fatalf("minPValue(%d, %d) = %v, want %v", n1, n2, got, want)
		}
	}
}

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// TestMannWhitneyTiesNormal checks the tie-corrected normal approximation
// against the exact permutation distribution of the midrank statistic on
// moderately large samples, where the two must agree closely.
func TestMannWhitneyTiesNormal(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, 30)
	y := make([]float64, 30)
	for i := range x {
		x[i] = float64(rng.IntN(8))     // many ties
		y[i] = float64(rng.IntN(8) + 1) // shifted by one
	}
	u, p := MannWhitney(x, y)
	// Monte Carlo permutation test of the same statistic, two-sided.
	all := append(append([]float64{}, x...), y...)
	dist := math.Abs(u - float64(len(x)*len(y))/2)
	hits, trials := 0, 20000
	for range trials {
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		uu, _ := MannWhitney(all[:30], all[30:])
		if math.Abs(uu-float64(len(x)*len(y))/2) >= dist-1e-9 {
			hits++
		}
	}
	perm := float64(hits) / float64(trials)
	if math.Abs(p-perm) > 0.02+0.1*perm {
		t.Fatalf("normal approximation p = %.4f, permutation p = %.4f", p, perm)
	}
}

func TestMannWhitneyEdges(t *testing.T) {
	if _, p := MannWhitney(nil, []float64{1}); p != 1 {
		t.Fatalf("empty sample: p = %v", p)
	}
	if _, p := MannWhitney([]float64{2, 2, 2}, []float64{2, 2, 2}); p != 1 {
		t.Fatalf("all equal: p = %v", p)
	}
}
