package imaging

// reorient applies EXIF orientation o (2 to 8) to img, replacing its
// buffers. Orientations 5 to 8 swap width and height.
func reorient(img *Image, o int) {
	w, h := img.Width, img.Height
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}

	// Each new plane swaps places with the old one, and the deferred
	// putBytes zeroes whichever img no longer holds: the old plane, or the
	// new one half written when orientPlane panics.
	rgb := getBytes(3 * w * h)
	defer func() { putBytes(rgb) }()
	orientPlane(rgb, img.RGB, 3, o, w, h)
	img.RGB, rgb = rgb, img.RGB
	if img.Alpha != nil {
		alpha := getBytes(w * h)
		defer func() { putBytes(alpha) }()
		orientPlane(alpha, img.Alpha, 1, o, w, h)
		img.Alpha, alpha = alpha, img.Alpha
	}
	img.Width, img.Height = ow, oh
	img.orientation = o
}

// orientSource returns the stored pixel shown at displayed (x, y) for EXIF
// orientation o of a stored w×h image.
func orientSource(o, x, y, w, h int) (sx, sy int) {
	switch o {
	case 2: // mirrored left to right
		return w - 1 - x, y
	case 3: // rotated 180°
		return w - 1 - x, h - 1 - y
	case 4: // mirrored top to bottom
		return x, h - 1 - y
	case 5: // transposed
		return y, x
	case 6: // stored turned 90° counter-clockwise: show it turned clockwise
		return y, h - 1 - x
	case 7: // transversed
		return w - 1 - y, h - 1 - x
	case 8: // stored turned 90° clockwise: show it turned counter-clockwise
		return w - 1 - y, x
	}
	return x, y
}

// orientTile is the side of the square blocks orientPlane walks, so that
// the column-wise reads of orientations 5 to 8 stay in cache.
const orientTile = 64

// orientPlane writes the oriented copy of src (w×h pixels of bpp bytes)
// into dst. Within a displayed row the stored index moves by a fixed step,
// so each row is the start index from orientSource plus x·step.
func orientPlane(dst, src []uint8, bpp, o, w, h int) {
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	x1, y1 := orientSource(o, 1, 0, w, h)
	x0, y0 := orientSource(o, 0, 0, w, h)
	step := (y1-y0)*w + (x1 - x0)

	for ty := 0; ty < oh; ty += orientTile {
		for tx := 0; tx < ow; tx += orientTile {
			xe := min(tx+orientTile, ow)
			for y := ty; y < min(ty+orientTile, oh); y++ {
				sx, sy := orientSource(o, tx, y, w, h)
				s := sy*w + sx
				d := y*ow + tx
				if bpp == 1 {
					for x := tx; x < xe; x++ {
						dst[d] = src[s]
						d++
						s += step
					}
					continue
				}
				for x := tx; x < xe; x++ {
					dst[3*d], dst[3*d+1], dst[3*d+2] = src[3*s], src[3*s+1], src[3*s+2]
					d++
					s += step
				}
			}
		}
	}
}
