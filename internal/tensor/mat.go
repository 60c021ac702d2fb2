package tensor

import "fmt"

// Mat is a row-major matrix view: Rows rows of Cols elements of Type, each
// row stored as RowBytes(Type, Cols) consecutive bytes of Data, row 0 first.
// A weight tensor of GGUF shape [Cols, Rows] (innermost first) is the Mat
// {Type, Rows, Cols}: row r holds the weights of output feature r.
//
// Mat is a value type that never copies Data: Row and Slice return views
// sharing its backing array. Data is typically mmapped and read-only; Mat
// methods never write to it. Construct one with NewMat, which checks the
// geometry; the methods panic on a Mat whose Data is shorter than Rows rows,
// because that is a programming error, not bad input.
type Mat struct {
	Type       DType
	Rows, Cols int
	Data       []byte // [Rows][RowBytes(Type, Cols)], or see Layout
	// Layout is RowMajor (the zero value) for every Mat read from a file.
	// kernel.Interleave makes Interleaved copies for its matrix kernels.
	Layout Layout
}

// Layout says how a Mat's Data holds its rows.
type Layout uint8

const (
	// RowMajor: row r is bytes [r·RowBytes, (r+1)·RowBytes) of Data, as
	// GGUF stores it.
	RowMajor Layout = iota
	// Interleaved: groups of InterleaveRows rows, each group's blocks
	// interleaved by row for package kernel's matrix kernels (its
	// interleave.go describes the bytes); the last group is padded with
	// zero rows. Only kernel.MatMul reads such a Mat; Row panics, and Slice
	// takes only whole groups.
	Interleaved
)

// InterleaveRows is the rows per group of an Interleaved Mat.
const InterleaveRows = 16

// NewMat returns the Mat view of data as rows×cols elements of t. It fails if
// t is unknown, cols is not a whole number of t's blocks, rows or cols is
// negative, or len(data) is not exactly rows rows. Data is not copied.
func NewMat(t DType, rows, cols int, data []byte) (Mat, error) {
	rb, err := RowBytes(t, cols)
	if err != nil {
		return Mat{}, err
	}
	if rows < 0 {
		return Mat{}, fmt.Errorf("tensor: negative row count %d", rows)
	}
	if len(data) != rows*rb {
		return Mat{}, fmt.Errorf("tensor: %d×%d %s matrix needs %d bytes, have %d", rows, cols, t, rows*rb, len(data))
	}
	return Mat{Type: t, Rows: rows, Cols: cols, Data: data}, nil
}

// RowBytes returns the number of bytes of one row of m: RowBytes(m.Type,
// m.Cols). It panics if m's type or column count is invalid.
func (m Mat) RowBytes() int {
	l, ok := layouts[m.Type]
	if !ok || m.Cols%l.blockSize != 0 {
		panic(fmt.Sprintf("tensor: invalid Mat geometry: %d columns of %s", m.Cols, m.Type))
	}
	return m.Cols / l.blockSize * l.typeSize
}

// Row returns the bytes of row i (0 <= i < Rows), a view into m.Data of
// length m.RowBytes() and capacity limited to it, so appending to it can
// never overwrite the next row.
func (m Mat) Row(i int) []byte {
	if m.Layout != RowMajor {
		panic("tensor: Row of an interleaved Mat")
	}
	if i < 0 || i >= m.Rows {
		panic(fmt.Sprintf("tensor: row %d out of range [0,%d)", i, m.Rows))
	}
	rb := m.RowBytes()
	return m.Data[i*rb : (i+1)*rb : (i+1)*rb]
}

// Slice returns the view of rows [lo, hi) of m, with 0 <= lo <= hi <= Rows.
// The result shares m.Data; it has hi-lo rows and the same Type, Cols and
// Layout. Of an Interleaved Mat, lo must be a multiple of InterleaveRows,
// and so must hi unless it is Rows.
func (m Mat) Slice(lo, hi int) Mat {
	if lo < 0 || hi < lo || hi > m.Rows {
		panic(fmt.Sprintf("tensor: row slice [%d,%d) out of range [0,%d)", lo, hi, m.Rows))
	}
	rb := m.RowBytes()
	if m.Layout == Interleaved {
		g := InterleaveRows
		if lo%g != 0 || (hi%g != 0 && hi != m.Rows) {
			panic(fmt.Sprintf("tensor: row slice [%d,%d) of an interleaved Mat is not whole groups of %d rows", lo, hi, g))
		}
		end := (hi + g - 1) / g * g
		return Mat{Type: m.Type, Rows: hi - lo, Cols: m.Cols, Layout: Interleaved, Data: m.Data[lo*rb : end*rb : end*rb]}
	}
	return Mat{Type: m.Type, Rows: hi - lo, Cols: m.Cols, Data: m.Data[lo*rb : hi*rb : hi*rb]}
}
