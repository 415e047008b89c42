package bench

import (
	"math"
	"sort"
)

// MannWhitney returns the Mann-Whitney U statistic of x against y (the
// number of pairs in which x's value is larger, ties counting one half) and
// the two-sided p-value of the hypothesis that both come from the same
// distribution. Without ties and with small samples the p-value is exact
// (the full permutation distribution of U); otherwise it uses the normal
// approximation with tie and continuity corrections, as SciPy's
// mannwhitneyu does.
func MannWhitney(x, y []float64) (u, p float64) {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return 0, 1
	}
	type obs struct {
		v     float64
		first bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var r1, tieTerm float64
	ties := false
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		mid := float64(i+j+1) / 2 // ranks i+1..j, averaged
		for k := i; k < j; k++ {
			if all[k].first {
				r1 += mid
			}
		}
		if t := float64(j - i); t > 1 {
			ties = true
			tieTerm += t*t*t - t
		}
		i = j
	}
	u = r1 - float64(n1*(n1+1))/2
	umax := math.Max(u, float64(n1*n2)-u)
	if !ties && n1+n2 <= 60 {
		return u, math.Min(1, 2*exactUpper(n1, n2, umax))
	}
	n := float64(n1 + n2)
	mean := float64(n1*n2) / 2
	sd := math.Sqrt(float64(n1*n2) / 12 * ((n + 1) - tieTerm/(n*(n-1))))
	if sd == 0 {
		return u, 1
	}
	z := (umax - mean - 0.5) / sd
	return u, math.Min(1, math.Erfc(z/math.Sqrt2))
}

// exactUpper is P(U >= u) for samples of n1 and n2 without ties: the share
// of the C(n1+n2, n1) orderings whose U is at least u, counted with the
// recurrence c(n1, n2, u) = c(n1-1, n2, u-n2) + c(n1, n2-1, u).
func exactUpper(n1, n2 int, u float64) float64 {
	// c[a][b] is the distribution of U for sample sizes a and b.
	c := make([][][]float64, n1+1)
	for a := range c {
		c[a] = make([][]float64, n2+1)
		for b := range c[a] {
			d := make([]float64, a*b+1)
			switch {
			case a == 0 || b == 0:
				d[0] = 1
			default:
				for k := range d {
					if k-b >= 0 && k-b < len(c[a-1][b]) {
						d[k] += c[a-1][b][k-b]
					}
					if k < len(c[a][b-1]) {
						d[k] += c[a][b-1][k]
					}
				}
			}
			c[a][b] = d
		}
	}
	var total, upper float64
	for k, v := range c[n1][n2] {
		total += v
		if float64(k) >= u-1e-9 {
			upper += v
		}
	}
	return upper / total
}

// minPValue is the smallest two-sided p-value MannWhitney can return for
// samples of n1 and n2 without ties: 2 / C(n1+n2, n1). When it is not
// below the significance level, the test cannot detect any change.
func minPValue(n1, n2 int) float64 {
	if n1 == 0 || n2 == 0 {
		return 1
	}
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}
