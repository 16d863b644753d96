package imaging

// resize resamples src (sw×sh pixels of ch interleaved 8-bit channels)
// into dst (dw×dh), with libvips's vips_resize and the Lanczos-3 kernel as
// sharp calls it: vertical reduce, horizontal reduce, then a Catmull-Rom
// enlargement of whatever axis grows. See the package documentation.
func resize(dst []uint8, dw, dh int, src []uint8, sw, sh, ch int) {
	if dw == sw && dh == sh {
		copy(dst[:dw*dh*ch], src)
		return
	}

	// sharp passes the scales to libvips as 1/(in/out); keep that rounding.
	hScale := 1 / (float64(sw) / float64(dw))
	vScale := 1 / (float64(sh) / float64(dh))
	enlarge := dw > sw || dh > sh

	// cur is the image so far; it is a pooled scratch buffer unless it is
	// src or dst. The last stage writes into dst.
	cur, w, h := src, sw, sh
	scratch := false
	advance := func(out []uint8, nw, nh int, outScratch bool) {
		if scratch {
			putBytes(cur)
		}
		cur, w, h, scratch = out, nw, nh, outScratch
	}
	output := func(n int, last bool) ([]uint8, bool) {
		if last {
			return dst[:n], false
		}
		return getBytes(n), true
	}

	if dh < sh {
		box := boxFactor(sh, dh)
		if box > 1 {
			out := getBytes(w * ch * ceilDiv(h, box))
			shrinkRows(out, cur, w*ch, h, box)
			advance(out, w, ceilDiv(h, box), true)
		}
		taps := reduceTaps(sh, dh, 1/vScale, box, reduceStrip)
		out, tmp := output(w*ch*dh, dw == sw && !enlarge)
		reduceRows(out, cur, w*ch, taps)
		advance(out, w, dh, tmp)
	}
	if dw < sw {
		box := boxFactor(sw, dw)
		if box > 1 {
			nw := ceilDiv(w, box)
			out := getBytes(nw * ch * h)
			shrinkColumns(out, cur, w, h, ch, box)
			advance(out, nw, h, true)
		}
		taps := reduceTaps(sw, dw, 1/hScale, box, 0)
		out, tmp := output(dw*ch*h, !enlarge)
		reduceColumns(out, cur, w, h, ch, taps)
		advance(out, dw, h, tmp)
	}
	if enlarge {
		a, d := 1.0, 1.0
		if dw > sw {
			a = hScale
		}
		if dh > sh {
			d = vScale
		}
		enlargeAffine(dst, dw, dh, cur, w, h, ch, a, d)
	}
	if scratch {
		putBytes(cur)
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// enlargeAffine is libvips's vips_affine with the bicubic interpolator for
// the diagonal matrix (a, d), as vips_resize calls it to enlarge: each axis
// samples input o/scale − 0.5, with the inverse scales libvips derives from
// the determinant.
func enlargeAffine(dst []uint8, dw, dh int, src []uint8, sw, sh, ch int, a, d float64) {
	det := 1 / (a * d)
	hTaps := enlargeTaps(sw, dw, d*det, true)
	vTaps := enlargeTaps(sh, dh, a*det, false)

	// Rows are filtered horizontally into rounded, unclamped sums, then
	// columns combine four of them.
	stride := dw * ch
	mid := getInt16s(stride * sh)
	defer putInt16s(mid)
	for y := 0; y < sh; y++ {
		cubicRow(mid[y*stride:][:stride], src[y*sw*ch:][:sw*ch], ch, hTaps)
	}
	for y := 0; y < dh; y++ {
		first := int(vTaps.start[y])
		cubicColumns(dst[y*stride:][:stride], mid, stride, first, vTaps.weight[y*vTaps.n:][:vTaps.n])
	}
}

// roundFixed rounds a 12-bit fixed-point sum to an integer.
func roundFixed(v int32) int32 { return (v + weightHalf) >> weightShift }

// shrinkRows box-averages groups of box rows of length rowLen into dst, the
// last group repeating the bottom row. The rounding is libvips's
// (sum + box/2) · ⌊2³²/(256·box)⌋ >> 24 in 32 bits.
func shrinkRows(dst, src []uint8, rowLen, h, box int) {
	mul := uint32((1 << 32) / (256 * box))
	sums := make([]uint32, rowLen)
	for o := 0; o < ceilDiv(h, box); o++ {
		for i := range sums {
			sums[i] = uint32(box / 2)
		}
		for k := 0; k < box; k++ {
			y := min(o*box+k, h-1)
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
}

// shrinkColumns box-averages groups of box pixels along each row, the last
// group repeating the right edge, with shrinkRows's rounding.
func shrinkColumns(dst, src []uint8, w, h, ch, box int) {
	mul := uint32((1 << 32) / (256 * box))
	nw := ceilDiv(w, box)
	for y := 0; y < h; y++ {
		row := src[y*w*ch:][:w*ch]
		out := dst[y*nw*ch:][:nw*ch]
		for o := 0; o < nw; o++ {
			for c := 0; c < ch; c++ {
				sum := uint32(box / 2)
				for k := 0; k < box; k++ {
					x := min(o*box+k, w-1)
					sum += uint32(row[x*ch+c])
				}
				out[o*ch+c] = uint8((sum * mul) >> 24)
			}
		}
	}
}

// reduceRows applies vertical taps to rows of rowLen bytes: output row o
// combines rows start[o] .. start[o]+n-1 of src.
func reduceRows(dst, src []uint8, rowLen int, t axisTaps) {
	offsets := make([]int, t.n)
	for o := range t.start {
		for k := range offsets {
			offsets[k] = (int(t.start[o]) + k) * rowLen
		}
		weightedRows(dst[o*rowLen:][:rowLen], src, offsets, t.weight[o*t.n:][:t.n])
	}
}

// reduceColumns applies horizontal taps to each row of a w×h image.
func reduceColumns(dst, src []uint8, w, h, ch int, t axisTaps) {
	ow := len(t.start)
	for y := 0; y < h; y++ {
		row := src[y*w*ch:][:w*ch]
		out := dst[y*ow*ch:][:ow*ch]
		switch ch {
		case 1:
			reduceRow1(out, row, t)
		case 3:
			reduceRow3(out, row, t)
		default:
			reduceRowN(out, row, ch, t)
		}
	}
}

func reduceRow1(out, row []uint8, t axisTaps) {
	n := t.n
	for o := range out {
		ws := t.weight[o*n:][:n]
		px := row[t.start[o]:][:n]
		var sum int32
		for k, w := range ws {
			sum += int32(w) * int32(px[k])
		}
		out[o] = clampToByte(roundFixed(sum))
	}
}

func reduceRow3(out, row []uint8, t axisTaps) {
	n := t.n
	for o := 0; o < len(t.start); o++ {
		ws := t.weight[o*n:][:n]
		px := row[3*int(t.start[o]):][:3*n]
		var r, g, b int32
		for k, w := range ws {
			wv := int32(w)
			r += wv * int32(px[3*k])
			g += wv * int32(px[3*k+1])
			b += wv * int32(px[3*k+2])
		}
		out[3*o] = clampToByte(roundFixed(r))
		out[3*o+1] = clampToByte(roundFixed(g))
		out[3*o+2] = clampToByte(roundFixed(b))
	}
}

func reduceRowN(out, row []uint8, ch int, t axisTaps) {
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

// cubicRow filters one row horizontally into rounded, unclamped sums.
func cubicRow(out []int16, row []uint8, ch int, t axisTaps) {
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
	for i := range out {
		var sum int32
		for k, wv := range w {
			sum += int32(wv) * int32(mid[(first+k)*stride+i])
		}
		out[i] = clampToByte(roundFixed(sum))
	}
}

// weightedRows sets dst[i] to the rounded, clamped sum over k of
// w[k]·src[offsets[k]+i].
func weightedRows(dst, src []uint8, offsets []int, w []int16) {
	const chunk = 1024
	var acc [chunk]int32
	for x0 := 0; x0 < len(dst); x0 += chunk {
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
