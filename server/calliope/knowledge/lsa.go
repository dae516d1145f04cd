package knowledge

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"unicode"

	porterstemmer "github.com/blevesearch/go-porterstemmer"
)

// The default embedder: latent semantic analysis. The indexed chunks make a
// TF-IDF term-by-chunk matrix A; a truncated SVD A ≈ U Σ Vᵀ keeps its
// strongest dims directions, where words that share contexts ("base",
// "basePath", "prefix", "subpath") land close together. A chunk's vector is
// Uᵀa (its column projected), a query's is Uᵀq: folding the query in the
// same way needs no retraining. Nothing is downloaded; the model is rebuilt
// in memory whenever the corpus changes, in about a second for 5,000 chunks.

// lsaModel maps terms to their rows of U. A chunk's vector Uᵀa equals its
// row of VΣ, so its dimensions are weighted by the singular values; the
// query's Uᵀq is weighted the same way, and cosines compare like with like.
type lsaModel struct {
	dims  int
	terms map[string]int // term -> row
	idf   []float64      // per row
	proj  []float32      // rows × dims, row-major: U
}

// lsaText is a chunk as the model sees it: its heading path, twice (the
// headings are the questions a section answers), and its text.
func lsaText(c Chunk) string { return c.Heading + "\n" + c.Heading + "\n" + c.Text }

// buildLSA computes the model over texts and returns it with one vector per
// text (unit length, or zero for a text with no known terms).
func buildLSA(texts []string, dims int) (*lsaModel, [][]float32) {
	m := &lsaModel{terms: map[string]int{}}
	// Term counts per document, and document frequencies.
	counts := make([]map[int]int, len(texts))
	var df []int
	for j, t := range texts {
		counts[j] = map[int]int{}
		for _, tok := range tokenize(t) {
			row, ok := m.terms[tok]
			if !ok {
				row = len(df)
				m.terms[tok] = row
				df = append(df, 0)
			}
			if counts[j][row] == 0 {
				df[row]++
			}
			counts[j][row]++
		}
	}
	n := float64(len(texts))
	m.idf = make([]float64, len(df))
	for row, d := range df {
		m.idf[row] = math.Log((n + 1) / float64(d))
	}
	// Columns of A: TF-IDF weights, unit length so long chunks do not
	// dominate the decomposition.
	cols := make([]sparseCol, len(texts))
	for j, c := range counts {
		cols[j] = m.weigh(c)
	}
	r := min(dims, len(df), len(texts))
	if r == 0 {
		return m, make([][]float32, len(texts))
	}
	m.dims = r
	u := truncatedSVD(cols, len(df), r)
	m.proj = make([]float32, len(df)*r)
	for row := range len(df) {
		for k := range r {
			m.proj[row*r+k] = float32(u[k][row])
		}
	}
	vecs := make([][]float32, len(texts))
	for j, c := range cols {
		vecs[j] = m.project(c)
	}
	return m, vecs
}

// sparseCol is a column of A: term rows and their weights.
type sparseCol struct {
	rows []int
	vals []float64
}

func (m *lsaModel) weigh(counts map[int]int) sparseCol {
	var c sparseCol
	norm := 0.0
	rows := make([]int, 0, len(counts))
	for row := range counts {
		rows = append(rows, row)
	}
	sort.Ints(rows) // a fixed order of sums: the same corpus, the same model
	for _, row := range rows {
		tf := counts[row]
		w := (1 + math.Log(float64(tf))) * m.idf[row]
		if w == 0 {
			continue
		}
		c.rows = append(c.rows, row)
		c.vals = append(c.vals, w)
		norm += w * w
	}
	if norm > 0 {
		norm = math.Sqrt(norm)
		for i := range c.vals {
			c.vals[i] /= norm
		}
	}
	return c
}

// project returns Uᵀc, normalised to unit length (zero when c is empty).
func (m *lsaModel) project(c sparseCol) []float32 {
	v := make([]float64, m.dims)
	for i, row := range c.rows {
		w := c.vals[i]
		p := m.proj[row*m.dims : (row+1)*m.dims]
		for k := range v {
			v[k] += w * float64(p[k])
		}
	}
	return unit(v)
}

// embed folds a query in: its TF-IDF vector over the known terms, projected.
func (m *lsaModel) embed(text string) []float32 {
	if m == nil || m.dims == 0 {
		return nil
	}
	counts := map[int]int{}
	for _, tok := range tokenize(text) {
		if row, ok := m.terms[tok]; ok {
			counts[row]++
		}
	}
	return m.project(m.weigh(counts))
}

func unit(v []float64) []float32 {
	norm := 0.0
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, len(v))
	if norm == 0 {
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}

// truncatedSVD returns the first r left singular vectors of the m×n matrix
// whose columns are cols, by the randomized range finder of Halko, Martinsson
// and Tropp (2011): Y = (AAᵀ)^q A Ω for a Gaussian Ω with r+10 columns,
// re-orthonormalised between the passes; Q spans A's dominant range; the
// small matrix B = QᵀA then gives U = Q·eig(BBᵀ). The seed is fixed, so the
// same corpus always gives the same model.
func truncatedSVD(cols []sparseCol, m, r int) [][]float64 {
	n := len(cols)
	l := min(r+10, m, n)
	rng := rand.New(rand.NewPCG(0x6b6e6f77, 0x6c656467))

	// Y = AΩ, kept as l column vectors of length m.
	y := newMatrix(l, m)
	omega := make([]float64, l)
	for _, c := range cols {
		for k := range omega {
			omega[k] = rng.NormFloat64()
		}
		for i, row := range c.rows {
			w := c.vals[i]
			for k := range l {
				y[k][row] += w * omega[k]
			}
		}
	}
	orthonormalize(y)
	const powerIterations = 2
	for range powerIterations {
		z := newMatrix(l, n) // Aᵀ Q
		for j, c := range cols {
			for k := range l {
				s := 0.0
				for i, row := range c.rows {
					s += c.vals[i] * y[k][row]
				}
				z[k][j] = s
			}
		}
		orthonormalize(z)
		y = newMatrix(l, m) // A Z
		for j, c := range cols {
			for i, row := range c.rows {
				w := c.vals[i]
				for k := range l {
					y[k][row] += w * z[k][j]
				}
			}
		}
		orthonormalize(y)
	}
	// BBᵀ = Qᵀ A Aᵀ Q, l×l, accumulated one column of B = QᵀA at a time.
	bbt := newMatrix(l, l)
	b := make([]float64, l)
	for _, c := range cols {
		for k := range l {
			s := 0.0
			for i, row := range c.rows {
				s += c.vals[i] * y[k][row]
			}
			b[k] = s
		}
		for p := range l {
			if b[p] == 0 {
				continue
			}
			for q := range l {
				bbt[p][q] += b[p] * b[q]
			}
		}
	}
	vals, vecs := jacobiEigen(bbt)
	order := make([]int, l)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	u := newMatrix(r, m)
	for k := range r {
		e := order[k]
		for p := range l {
			w := vecs[p][e]
			if w == 0 {
				continue
			}
			for row, x := range y[p] {
				u[k][row] += w * x
			}
		}
	}
	return u
}

func newMatrix(rows, cols int) [][]float64 {
	buf := make([]float64, rows*cols)
	out := make([][]float64, rows)
	for i := range out {
		out[i] = buf[i*cols : (i+1)*cols]
	}
	return out
}

// orthonormalize makes the vectors orthonormal in place by modified
// Gram-Schmidt, run twice for stability; a vector that is (numerically) in
// the span of the earlier ones becomes zero.
func orthonormalize(v [][]float64) {
	for range 2 {
		for i := range v {
			for j := range i {
				d := dot(v[i], v[j])
				for t := range v[i] {
					v[i][t] -= d * v[j][t]
				}
			}
			norm := math.Sqrt(dot(v[i], v[i]))
			if norm < 1e-10 {
				clear(v[i])
				continue
			}
			for t := range v[i] {
				v[i][t] /= norm
			}
		}
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// jacobiEigen diagonalises the symmetric matrix a (destroyed) by cyclic
// Jacobi rotations and returns its eigenvalues and eigenvectors (columns).
func jacobiEigen(a [][]float64) ([]float64, [][]float64) {
	n := len(a)
	v := newMatrix(n, n)
	for i := range n {
		v[i][i] = 1
	}
	for sweep := 0; sweep < 50; sweep++ {
		off := 0.0
		for p := range n {
			for q := p + 1; q < n; q++ {
				off += a[p][q] * a[p][q]
			}
		}
		if off < 1e-22 {
			break
		}
		for p := range n {
			for q := p + 1; q < n; q++ {
				if math.Abs(a[p][q]) < 1e-300 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				t := 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				if theta < 0 {
					t = -t
				}
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range n {
					akp, akq := a[k][p], a[k][q]
					a[k][p] = c*akp - s*akq
					a[k][q] = s*akp + c*akq
				}
				for k := range n {
					apk, aqk := a[p][k], a[q][k]
					a[p][k] = c*apk - s*aqk
					a[q][k] = s*apk + c*aqk
				}
				for k := range n {
					vkp, vkq := v[k][p], v[k][q]
					v[k][p] = c*vkp - s*vkq
					v[k][q] = s*vkp + c*vkq
				}
			}
		}
	}
	vals := make([]float64, n)
	for i := range n {
		vals[i] = a[i][i]
	}
	return vals, v
}

// tokenize lowercases, splits at anything but letters and digits, adds the
// parts of camelCase words beside the whole ("basePath" gives "basepath",
// "base" and "path"), drops stop words and one-letter tokens, and stems with
// Porter's algorithm ("routes", "routing" and "routed" become "rout").
func tokenize(s string) []string {
	var out []string
	emit := func(w string) {
		if len(w) < 2 {
			return
		}
		w = strings.ToLower(w)
		if stopWords[w] {
			return
		}
		out = append(out, porterstemmer.StemString(w))
	}
	word := func(w []rune) {
		if len(w) == 0 {
			return
		}
		emit(string(w))
		start := 0
		parts := 0
		for i := 1; i < len(w); i++ {
			if unicode.IsLower(w[i-1]) && unicode.IsUpper(w[i]) {
				emit(string(w[start:i]))
				start = i
				parts++
			}
		}
		if parts > 0 {
			emit(string(w[start:]))
		}
	}
	var cur []rune
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			cur = append(cur, r)
			continue
		}
		word(cur)
		cur = cur[:0]
	}
	word(cur)
	return out
}

var stopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again all also am an and any are as at be
		because been before being below between both but by can could did do does doing during
		each few for from further had has have having he her here hers him his how i if in into is it
		its itself just me more most my nor now of on once only or other our ours over
		own same she should so some such than that the their theirs them then there these they this
		those through to too under until very was we were what when where which while who whom why
		will with would you your yours yourself`) {
		m[w] = true
	}
	return m
}()
