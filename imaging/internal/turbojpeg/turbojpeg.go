//go:build cgo

// Package turbojpeg decodes JPEG with libjpeg-turbo's TurboJPEG API,
// linked statically from Debian's libturbojpeg0-dev (libturbojpeg.a), so
// a binary that uses it needs no libturbojpeg.so at run time. Package
// imaging uses it under the build tag turbojpeg; it lives in its own
// package because a package with cgo cannot also hold Go assembly.
package turbojpeg

/*
#cgo LDFLAGS: -l:libturbojpeg.a
#include <stdlib.h>
#include <turbojpeg.h>
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Available reports that this build has the libjpeg-turbo decoder.
const Available = true

// handles keeps decompressor instances for reuse after successful calls;
// each is used by one goroutine at a time. Instances beyond its capacity
// are destroyed.
var handles = make(chan C.tjhandle, 16)

// flags make warnings fatal, so that a truncated or corrupt file is an
// error instead of a picture libjpeg padded with gray, and bound the
// number of progressive scans, which libjpeg-turbo's documentation names
// as a denial-of-service guard.
const flags = C.TJFLAG_STOPONWARNING | C.TJFLAG_LIMITSCANS

// Decode decodes a JPEG into a buffer from alloc: packed RGB, or packed
// CMYK as stored (Adobe files store 255 − ink) when cmyk is true. The
// colour conversion and chroma upsampling are libjpeg-turbo's. It is safe
// for concurrent use. On error the buffer, if any was allocated, is
// returned for the caller to release.
func Decode(data []byte, alloc func(n int) []byte) (pix []byte, w, h int, cmyk bool, err error) {
	if len(data) == 0 {
		return nil, 0, 0, false, errors.New("libjpeg-turbo: empty JPEG")
	}
	hd := get()
	if hd == nil {
		return nil, 0, 0, false, errors.New("libjpeg-turbo: cannot create a decompressor")
	}
	// An instance that failed keeps state from the failed file (its
	// tables, for one) and can fail the next one, so it is not reused.
	defer func() {
		if err != nil {
			C.tjDestroy(hd)
			return
		}
		put(hd)
	}()

	src := (*C.uchar)(unsafe.Pointer(&data[0]))
	size := C.ulong(len(data))
	var width, height, subsamp, colorspace C.int
	if C.tjDecompressHeader3(hd, src, size, &width, &height, &subsamp, &colorspace) != 0 {
		return nil, 0, 0, false, lastError(hd)
	}
	w, h = int(width), int(height)
	cmyk = colorspace == C.TJCS_CMYK || colorspace == C.TJCS_YCCK
	format, bpp := C.int(C.TJPF_RGB), 3
	if cmyk {
		format, bpp = C.TJPF_CMYK, 4
	}
	pix = alloc(bpp * w * h)
	if C.tjDecompress2(hd, src, size, (*C.uchar)(unsafe.Pointer(&pix[0])), width, 0, height,
		format, flags) != 0 {
		return pix, w, h, cmyk, lastError(hd)
	}
	return pix, w, h, cmyk, nil
}

func get() C.tjhandle {
	select {
	case hd := <-handles:
		return hd
	default:
		return C.tjInitDecompress()
	}
}

func put(hd C.tjhandle) {
	select {
	case handles <- hd:
	default:
		C.tjDestroy(hd)
	}
}

// lastError returns libjpeg-turbo's message for the last failure on hd.
// libjpeg's messages name the problem ("Premature end of JPEG file") and
// never quote image data.
func lastError(hd C.tjhandle) error {
	return errors.New("libjpeg-turbo: " + C.GoString(C.tjGetErrorStr2(hd)))
}
