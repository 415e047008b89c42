package kernels

import "fmt"

// Matrix is a weight matrix as GGUF stores it: Rows rows of Cols elements,
// each row Type.RowBytes(Cols) bytes, one after another.
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte
}

// Check verifies that the matrix's data has the size its shape needs.
func (m Matrix) Check() error {
	rb, err := m.Type.RowBytes(m.Cols)
	if err != nil {
		return err
	}
	if _, err := funcs(m.Type); err != nil {
		return err
	}
	if m.Rows < 0 || len(m.Data) != rb*m.Rows {
		return fmt.Errorf("kernels: %v matrix %dx%d needs %d bytes, has %d", m.Type, m.Rows, m.Cols, rb*m.Rows, len(m.Data))
	}
	return nil
}

// MatMulWork is the size of the work buffer MatMul needs for n tokens.
func MatMulWork(m Matrix, n int) int {
	rb, _ := m.Type.VecDotType().RowBytes(m.Cols)
	return rb * n
}

// MatVec computes y = W·x for one token (decode). work holds x converted
// to the weights' activation type; its size is MatMulWork(w, 1).
func MatVec(y []float32, w Matrix, x []float32, work []byte) {
	MatMul(y, w, x, 1, work)
}

// MatMul computes y[i] = W·x[i] for n tokens (prefill): x is n rows of
// w.Cols, y is n rows of w.Rows. Each thread takes a range of weight rows
// and runs every token through it, so each weight row is read from memory
// once per call while it sits in cache.
func MatMul(y []float32, w Matrix, x []float32, n int, work []byte) {
	f := portable[w.Type]
	xt := f.vecDotType
	xrb, _ := xt.RowBytes(w.Cols)
	wrb, _ := w.Type.RowBytes(w.Cols)
	xq := work[:xrb*n]
	for i := range n {
		portable[xt].quantize(xq[i*xrb:(i+1)*xrb], x[i*w.Cols:(i+1)*w.Cols])
	}
	y = y[:n*w.Rows]
	dot := vecDotFor(w.Type)
	cols := w.Cols
	parallel(w.Rows, 16, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := w.Data[r*wrb : (r+1)*wrb]
			for i := range n {
				y[i*w.Rows+r] = dot(cols, row, xq[i*xrb:(i+1)*xrb])
			}
		}
	})
}
