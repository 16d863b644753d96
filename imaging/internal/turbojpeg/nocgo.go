//go:build !cgo

package turbojpeg

import "errors"

// Available reports that this build has no libjpeg-turbo decoder: it
// needs cgo.
const Available = false

// Decode always fails without cgo.
func Decode(data []byte, alloc func(n int) []byte) (pix []byte, w, h int, cmyk bool, err error) {
	return nil, 0, 0, false, errors.New("libjpeg-turbo: built without cgo")
}
