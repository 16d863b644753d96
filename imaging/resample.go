package imaging

import "unsafe"

// resize resamples src (sw×sh pixels of ch interleaved 8-bit channels)
// into dst (dw×dh), with libvips's vips_resize and the Lanczos-3 kernel as
// sharp calls it: vertical reduce, horizontal reduce, then a Catmull-Rom
// enlargement of whatever axis grows. See the package documentation.
func resize(dst []uint8, dw, dh int, src []uint8, sw, sh, ch int) {
	resizeOriented(dst, dw, dh, src, sw, sh, ch, 1)
}

// resizeOriented is resize for a displayed image src that shows its stored
// image with EXIF orientation o. sharp resizes the stored image and orients
// the result. The roundings of libvips's passes depend on their order and
// direction, so the passes run in stored coordinates. For orientations 5
// to 8 the stored vertical axis is the displayed horizontal one, and
// mirrored axes take their taps reversed. dst gets the displayed layout,
// and (dw, dh) is the displayed output size.
func resizeOriented(dst []uint8, dw, dh int, src []uint8, sw, sh, ch, o int) {
	if dw == sw && dh == sh {
		copy(dst[:dw*dh*ch], src) // sharp skips the resize
		return
	}

	// Sizes in stored coordinates, and how stored axes map to displayed ones.
	swap := o >= 5
	ws, hs, tws, ths := sw, sh, dw, dh
	if swap {
		ws, hs, tws, ths = sh, sw, dh, dw
	}
	revX := o == 2 || o == 3 || o == 7 || o == 8
	revY := o == 3 || o == 4 || o == 6 || o == 7

	// sharp passes the scales to libvips as 1/(in/out); keep that rounding.
	hScale := 1 / (float64(ws) / float64(tws))
	vScale := 1 / (float64(hs) / float64(ths))
	enlarge := tws > ws || ths > hs

	p := resizePass{dst: dst, cur: src, w: sw, h: sh, ch: ch}
	if ths < hs {
		box := boxFactor(hs, ths)
		if box > 1 {
			p.box(!swap, box, revY)
		}
		taps := reduceTaps(hs, ths, 1/vScale, box, reduceStrip)
		p.reduce(!swap, taps.reversedIf(revY), tws == ws && !enlarge)
	}
	if tws < ws {
		box := boxFactor(ws, tws)
		if box > 1 {
			p.box(swap, box, revX)
		}
		taps := reduceTaps(ws, tws, 1/hScale, box, 0)
		p.reduce(swap, taps.reversedIf(revX), !enlarge)
	}
	if enlarge {
		a, d := 1.0, 1.0
		if tws > ws {
			a = hScale
		}
		if ths > hs {
			d = vScale
		}
		p.enlarge(a, d, tws, ths, swap, revX, revY)
	}
	p.done()
}

// resizePass holds the image between the passes of resizeOriented, in
// displayed layout. cur is a pooled scratch buffer when scratch is set;
// the last pass writes into dst.
type resizePass struct {
	dst, cur []uint8
	w, h, ch int
	scratch  bool
}

func (p *resizePass) advance(out []uint8, w, h int, scratch bool) {
	if p.scratch {
		putBytes(p.cur)
	}
	p.cur, p.w, p.h, p.scratch = out, w, h, scratch
}

func (p *resizePass) output(n int, last bool) ([]uint8, bool) {
	if last {
		return p.dst[:n], false
	}
	return getBytes(n), true
}

func (p *resizePass) done() {
	if p.scratch {
		putBytes(p.cur)
		p.scratch = false
	}
}

// box applies libvips's box shrink along the displayed vertical or
// horizontal axis. With reversed set, groups start at the far end, because
// that is where a mirrored axis starts in stored coordinates.
func (p *resizePass) box(vertical bool, box int, reversed bool) {
	if vertical {
		nh := ceilDiv(p.h, box)
		out := getBytes(p.w * p.ch * nh)
		shrinkRows(out, p.cur, p.w*p.ch, p.h, box, reversed)
		p.advance(out, p.w, nh, true)
		return
	}
	nw := ceilDiv(p.w, box)
	out := getBytes(nw * p.ch * p.h)
	shrinkColumns(out, p.cur, p.w, p.h, p.ch, box, reversed)
	p.advance(out, nw, p.h, true)
}

// reduce applies Lanczos taps along one displayed axis.
func (p *resizePass) reduce(vertical bool, taps axisTaps, last bool) {
	n := len(taps.start)
	if vertical {
		out, tmp := p.output(p.w*p.ch*n, last)
		reduceRows(out, p.cur, p.w*p.ch, taps)
		p.advance(out, p.w, n, tmp)
		return
	}
	out, tmp := p.output(n*p.ch*p.h, last)
	reduceColumns(out, p.cur, p.w, p.h, p.ch, taps)
	p.advance(out, n, p.h, tmp)
}

// enlarge is libvips's vips_affine with the bicubic interpolator for the
// diagonal matrix (a, d) in stored coordinates, as vips_resize calls it:
// each axis samples input o/scale − 0.5, with the inverse scales libvips
// derives from the determinant. The stored rows are filtered first into
// rounded, unclamped sums, then four of those combine per output.
func (p *resizePass) enlarge(a, d float64, tws, ths int, swap, revX, revY bool) {
	det := 1 / (a * d)
	ws, hs := p.w, p.h
	if swap {
		ws, hs = p.h, p.w
	}
	xTaps := enlargeTaps(ws, tws, d*det, true).reversedIf(revX)
	yTaps := enlargeTaps(hs, ths, a*det, false).reversedIf(revY)

	if !swap {
		// Stored rows are displayed rows.
		stride := tws * p.ch
		mid := getInt16s(stride * p.h)
		defer putInt16s(mid)
		forRanges(p.h, 2*stride, func(lo, hi int) {
			for y := lo; y < hi; y++ {
				cubicRow(mid[y*stride:][:stride], p.cur[y*p.w*p.ch:][:p.w*p.ch], p.ch, xTaps)
			}
		})
		out := p.dst[:stride*ths]
		forRanges(ths, stride, func(lo, hi int) {
			for y := lo; y < hi; y++ {
				first := int(yTaps.start[y])
				cubicColumns(out[y*stride:][:stride], mid, stride, first,
					yTaps.weight[y*yTaps.n:][:yTaps.n])
			}
		})
		p.advance(out, tws, ths, false)
		return
	}

	// Stored rows are displayed columns: the first pass runs down the
	// columns, the second along the rows.
	stride := p.w * p.ch
	mid := getInt16s(stride * tws)
	defer putInt16s(mid)
	forRanges(tws, 2*stride, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			first := int(xTaps.start[y])
			cubicRowsToI16(mid[y*stride:][:stride], p.cur, stride, first,
				xTaps.weight[y*xTaps.n:][:xTaps.n])
		}
	})
	outStride := ths * p.ch
	out := p.dst[:outStride*tws]
	forRanges(tws, outStride, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			cubicRowFromI16(out[y*outStride:][:outStride], mid[y*stride:][:stride], p.ch, yTaps)
		}
	})
	p.advance(out, ths, tws, false)
}

// reversedIf returns the taps for a mirrored axis when rev is set: output
// o becomes output len−1−o and reads the mirrored source samples in the
// opposite order.
func (t axisTaps) reversedIf(rev bool) axisTaps {
	if !rev {
		return t
	}
	out := len(t.start)
	r := axisTaps{n: t.n, srcLen: t.srcLen, start: make([]int32, out), weight: make([]int16, len(t.weight))}
	for o := range out {
		ro := out - 1 - o
		r.start[ro] = int32(t.srcLen - int(t.start[o]) - t.n)
		src := t.weight[o*t.n:][:t.n]
		dst := r.weight[ro*t.n:][:t.n]
		for k, w := range src {
			dst[t.n-1-k] = w
		}
	}
	return r
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// roundFixed rounds a 12-bit fixed-point sum to an integer.
func roundFixed(v int32) int32 { return (v + weightHalf) >> weightShift }

// boxSource returns the source index of sample k of box group g along an
// axis of n samples. Groups start at 0 and the last one repeats the edge.
// On a mirrored axis (reversed) both are counted from the far end.
func boxSource(g, k, box, n int, reversed bool) int {
	groups := ceilDiv(n, box)
	if reversed {
		g = groups - 1 - g
	}
	s := min(g*box+k, n-1)
	if reversed {
		return n - 1 - s
	}
	return s
}

// shrinkRows box-averages groups of box rows of length rowLen into dst.
// The rounding is libvips's (sum + box/2) · ⌊2³²/(256·box)⌋ >> 24 in 32
// bits.
func shrinkRows(dst, src []uint8, rowLen, h, box int, reversed bool) {
	mul := uint32((1 << 32) / (256 * box))
	forRanges(ceilDiv(h, box), rowLen, func(lo, hi int) {
		sums := make([]uint32, rowLen)
		for o := lo; o < hi; o++ {
			for i := range sums {
				sums[i] = uint32(box / 2)
			}
			for k := 0; k < box; k++ {
				y := boxSource(o, k, box, h, reversed)
				row := src[y*rowLen:][:rowLen]
				for i, v := range row {
					sums[i] += uint32(v)
				}
			}
			out := dst[o*rowLen:][:rowLen]
			for i, s := range sums {
				out[i] = uint8((s * mul) >> 24)
			}
		}
	})
}

// shrinkColumns box-averages groups of box pixels along each row, with
// shrinkRows's grouping and rounding.
func shrinkColumns(dst, src []uint8, w, h, ch, box int, reversed bool) {
	mul := uint32((1 << 32) / (256 * box))
	nw := ceilDiv(w, box)
	forRanges(h, w*ch, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			row := src[y*w*ch:][:w*ch]
			out := dst[y*nw*ch:][:nw*ch]
			for o := 0; o < nw; o++ {
				for c := 0; c < ch; c++ {
					sum := uint32(box / 2)
					for k := 0; k < box; k++ {
						x := boxSource(o, k, box, w, reversed)
						sum += uint32(row[x*ch+c])
					}
					out[o*ch+c] = uint8((sum * mul) >> 24)
				}
			}
		}
	})
}

// reduceRows applies vertical taps to rows of rowLen bytes: output row o
// combines rows start[o] .. start[o]+n-1 of src.
func reduceRows(dst, src []uint8, rowLen int, t axisTaps) {
	forRanges(len(t.start), rowLen, func(lo, hi int) {
		offsets := make([]int, t.n)
		for o := lo; o < hi; o++ {
			for k := range offsets {
				offsets[k] = (int(t.start[o]) + k) * rowLen
			}
			weightedRows(dst[o*rowLen:][:rowLen], src, offsets, t.weight[o*t.n:][:t.n])
		}
	})
}

// reduceColumns applies horizontal taps to each row of a w×h image. The
// image is transposed so that the taps combine whole rows, which the row
// kernels do with SIMD, and transposed back.
func reduceColumns(dst, src []uint8, w, h, ch int, t axisTaps) {
	ow := len(t.start)
	cols := getBytes(w * h * ch)
	defer putBytes(cols)
	transpose(cols, src, w, h, ch)
	out := getBytes(ow * h * ch)
	defer putBytes(out)
	reduceRows(out, cols, h*ch, t)
	transpose(dst, out, h, ow, ch)
}

// transposeBlock is the side of the square blocks transpose copies: the
// block's source rows stay in L1 while each destination row gets a
// contiguous run. Measured on the development machine, 8 beat 16 to 64.
const transposeBlock = 8

// transpose writes the h×w transpose of the w×h image src, whose pixels
// have ch bytes: pixel (x, y) of src becomes pixel (y, x) of dst.
func transpose(dst, src []uint8, w, h, ch int) {
	stride := w * ch
	forRanges(ceilDiv(h, transposeBlock), transposeBlock*stride, func(lo, hi int) {
		transposeBlocks(dst, src, w, h, ch, lo*transposeBlock, min(hi*transposeBlock, h))
	})
}

// transposeBlocks is transpose for the source rows from y0 to y1.
func transposeBlocks(dst, src []uint8, w, h, ch, from, to int) {
	stride := w * ch
	for y0 := from; y0 < to; y0 += transposeBlock {
		y1 := min(y0+transposeBlock, h)
		for x0 := 0; x0 < w; x0 += transposeBlock {
			for x := x0; x < min(x0+transposeBlock, w); x++ {
				d := dst[(x*h+y0)*ch : (x*h+y1)*ch]
				s := y0*stride + x*ch
				switch ch {
				case 1:
					for i := range d {
						d[i] = src[s]
						s += stride
					}
				case 3:
					transposeRun3(d, src[s:(y1-1)*stride+x*ch+3], stride)
				default:
					for i := 0; i < len(d); i += ch {
						copy(d[i:i+ch], src[s:s+ch])
						s += stride
					}
				}
			}
		}
	}
}

// transposeRun3 copies the 3-byte pixels src[k·stride:k·stride+3] to
// d[3k:3k+3] for every pixel of d. src must end with the last of them.
// The pixels move as a 2-byte and a 1-byte word through unsafe pointers,
// which spares the bounds checks of six byte copies. The length check
// below keeps every address inside d and src.
func transposeRun3(d, src []uint8, stride int) {
	n := len(d) / 3
	if n == 0 || len(src) < (n-1)*stride+3 {
		panic("imaging: transposeRun3 out of range")
	}
	dp, sp := unsafe.Pointer(unsafe.SliceData(d)), unsafe.Pointer(unsafe.SliceData(src))
	for k := range n {
		from, to := unsafe.Add(sp, k*stride), unsafe.Add(dp, 3*k)
		*(*[2]uint8)(to) = *(*[2]uint8)(from)
		*(*uint8)(unsafe.Add(to, 2)) = *(*uint8)(unsafe.Add(from, 2))
	}
}

// cubicRow filters one row horizontally with four taps into rounded,
// unclamped sums.
func cubicRow(out []int16, row []uint8, ch int, t axisTaps) {
	if t.n != 4 {
		cubicRowN(out, row, ch, t)
		return
	}
	if ch == 1 {
		cubicRowGray(out, row, t)
		return
	}
	for o := 0; o < len(t.start); o++ {
		ws := t.weight[4*o:][:4]
		w0, w1, w2, w3 := int32(ws[0]), int32(ws[1]), int32(ws[2]), int32(ws[3])
		px := row[ch*int(t.start[o]):][:4*ch]
		dst := out[ch*o:][:ch]
		for c := range dst {
			sum := w0*int32(px[c]) + w1*int32(px[ch+c]) + w2*int32(px[2*ch+c]) + w3*int32(px[3*ch+c])
			dst[c] = int16(roundFixed(sum))
		}
	}
}

// cubicRowGray is cubicRow for one channel, the mask's enlargement.
func cubicRowGray(out []int16, row []uint8, t axisTaps) {
	out = out[:len(t.start)]
	weights := t.weight[:4*len(out)]
	for o := range out {
		first := int(t.start[o])
		px := row[first : first+4 : first+4]
		ws := weights[4*o : 4*o+4 : 4*o+4]
		sum := int32(ws[0])*int32(px[0]) + int32(ws[1])*int32(px[1]) +
			int32(ws[2])*int32(px[2]) + int32(ws[3])*int32(px[3])
		out[o] = int16(roundFixed(sum))
	}
}

// cubicRowN is cubicRow for images narrower than four pixels, where the
// folded taps are fewer.
func cubicRowN(out []int16, row []uint8, ch int, t axisTaps) {
	n := t.n
	for o := 0; o < len(t.start); o++ {
		ws := t.weight[o*n:][:n]
		px := row[ch*int(t.start[o]):][:ch*n]
		for c := 0; c < ch; c++ {
			var sum int32
			for k, w := range ws {
				sum += int32(w) * int32(px[ch*k+c])
			}
			out[ch*o+c] = int16(roundFixed(sum))
		}
	}
}

// cubicColumns combines len(w) consecutive rows of mid, starting at row
// first, into one output row, clamped to 8 bits.
func cubicColumns(out []uint8, mid []int16, stride, first int, w []int16) {
	var offsets [maxTaps]int
	for k := range w {
		offsets[k] = (first + k) * stride
	}
	weightedRowsI16(out, mid, offsets[:len(w)], w)
}

// cubicRowsToI16 combines len(w) consecutive rows of src, starting at row
// first, into one row of rounded, unclamped sums: the first bicubic pass
// when it runs down the displayed columns.
func cubicRowsToI16(out []int16, src []uint8, stride, first int, w []int16) {
	rows := make([][]uint8, len(w))
	for k := range w {
		rows[k] = src[(first+k)*stride:][:len(out)]
	}
	for i := range out {
		var sum int32
		for k, wv := range w {
			sum += int32(wv) * int32(rows[k][i])
		}
		out[i] = int16(roundFixed(sum))
	}
}

// cubicRowFromI16 applies horizontal taps to a row of sums from
// cubicRowsToI16, clamping to 8 bits: the second bicubic pass when it runs
// along the displayed rows.
func cubicRowFromI16(out []uint8, row []int16, ch int, t axisTaps) {
	n := t.n
	for o := 0; o < len(t.start); o++ {
		ws := t.weight[o*n:][:n]
		px := row[ch*int(t.start[o]):][:ch*n]
		for c := 0; c < ch; c++ {
			var sum int32
			for k, w := range ws {
				sum += int32(w) * int32(px[ch*k+c])
			}
			out[ch*o+c] = clampToByte(roundFixed(sum))
		}
	}
}

// maxTaps bounds the taps the row kernels take: Lanczos-3 reaches 25 taps
// at the largest shrink left after the box filter (just under 4).
const maxTaps = 32

// packPairs packs the weights two by two for the assembly kernels, padding
// an odd count with a zero weight on a repeated row.
func packPairs(pairs *[maxTaps / 2]int32, offs *[maxTaps]int, offsets []int, w []int16) int {
	n := copy(offs[:], offsets)
	if n%2 == 1 {
		offs[n] = offs[n-1]
	}
	for p := 0; p < (n+1)/2; p++ {
		lo := uint16(w[2*p])
		var hi uint16
		if 2*p+1 < n {
			hi = uint16(w[2*p+1])
		}
		pairs[p] = int32(uint32(lo) | uint32(hi)<<16)
	}
	return (n + 1) / 2
}

// weightedRows sets dst[i] to the rounded, clamped sum over k of
// w[k]·src[offsets[k]+i]. Every offsets[k]+len(dst) must be within src.
func weightedRows(dst, src []uint8, offsets []int, w []int16) {
	n := len(dst) &^ 15
	if !useAVX2 || n == 0 || len(w) > maxTaps {
		weightedRowsGo(dst, src, offsets, w, 0)
		return
	}
	for _, off := range offsets {
		if off < 0 || off+len(dst) > len(src) {
			panic("imaging: row offset out of range")
		}
	}
	var pairs [maxTaps / 2]int32
	var offs [maxTaps]int
	np := packPairs(&pairs, &offs, offsets, w)
	rowsU8AVX2(&dst[0], n, &src[0], &offs[0], &pairs[0], np)
	weightedRowsGo(dst, src, offsets, w, n)
}

// weightedRowsI16 is weightedRows over int16 rows.
func weightedRowsI16(dst []uint8, src []int16, offsets []int, w []int16) {
	n := len(dst) &^ 15
	if !useAVX2 || n == 0 || len(w) > maxTaps {
		weightedRowsI16Go(dst, src, offsets, w, 0)
		return
	}
	var pairs [maxTaps / 2]int32
	var offs [maxTaps]int
	for k, off := range offsets {
		if off < 0 || off+len(dst) > len(src) {
			panic("imaging: row offset out of range")
		}
		offs[k] = 2 * off
	}
	np := packPairs(&pairs, &offs, offs[:len(offsets)], w)
	rowsI16AVX2(&dst[0], n, &src[0], &offs[0], &pairs[0], np)
	weightedRowsI16Go(dst, src, offsets, w, n)
}

// weightedRowsI16Go is the Go form of weightedRowsI16 from index from on.
func weightedRowsI16Go(dst []uint8, src []int16, offsets []int, w []int16, from int) {
	for i := from; i < len(dst); i++ {
		var sum int32
		for k, off := range offsets {
			sum += int32(w[k]) * int32(src[off+i])
		}
		dst[i] = clampToByte(roundFixed(sum))
	}
}

// weightedRowsGo is the Go form of weightedRows from index from on, and
// the reference of the assembly kernel.
func weightedRowsGo(dst, src []uint8, offsets []int, w []int16, from int) {
	const chunk = 1024
	var acc [chunk]int32
	for x0 := from; x0 < len(dst); x0 += chunk {
		n := min(chunk, len(dst)-x0)
		a := acc[:n]
		clear(a)
		for k, off := range offsets {
			wv := int32(w[k])
			row := src[off+x0:][:n]
			for i, v := range row {
				a[i] += wv * int32(v)
			}
		}
		out := dst[x0:][:n]
		for i, v := range a {
			out[i] = clampToByte(roundFixed(v))
		}
	}
}
