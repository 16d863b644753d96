//go:build !turbojpeg

package imaging

// haveTurboJPEG reports that this build has no libjpeg-turbo decoder:
// JPEGs are decoded by image/jpeg. Build with -tags turbojpeg (and cgo)
// to link it.
const haveTurboJPEG = false

// useTurboJPEG is false: there is no libjpeg-turbo to select.
var useTurboJPEG = false

func decodeJPEGTurbo(data []byte, info *jpegInfo, out **Image) error {
	panic("imaging: built without libjpeg-turbo")
}
