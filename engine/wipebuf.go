package engine

// minEncodedCap is the first capacity of a wipingBuffer: the size of a
// small cut-out, so that most encodings grow the buffer a few times at
// most.
const minEncodedCap = 256 << 10

// wipingBuffer is the encoders' output: an io.Writer over one byte slice.
// Unlike bytes.Buffer, it zeroes the old array each time it grows, so an
// encoded image leaves no partial copy behind in memory the garbage
// collector frees. The zero value is an empty buffer.
type wipingBuffer struct{ b []byte }

// Write appends p, growing the buffer to at least twice its size when p
// does not fit.
func (w *wipingBuffer) Write(p []byte) (int, error) {
	if len(w.b)+len(p) > cap(w.b) {
		grown := make([]byte, len(w.b), max(2*cap(w.b), len(w.b)+len(p), minEncodedCap))
		copy(grown, w.b)
		clear(w.b[:cap(w.b)])
		w.b = grown
	}
	w.b = append(w.b, p...)
	return len(p), nil
}

// Bytes returns the bytes written since the last wipe. They stay valid
// until the next Write or wipe.
func (w *wipingBuffer) Bytes() []byte { return w.b }

// Len returns the number of bytes written since the last wipe.
func (w *wipingBuffer) Len() int { return len(w.b) }

// wipe zeroes the whole array and empties the buffer, keeping its capacity.
func (w *wipingBuffer) wipe() {
	clear(w.b[:cap(w.b)])
	w.b = w.b[:0]
}
