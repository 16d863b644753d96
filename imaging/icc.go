package imaging

import (
	"bytes"
	"encoding/binary"
	"io"

	"github.com/klauspost/compress/zlib"
)

// ICC profiles of the RGB colour space are carried from input to output
// unchanged instead of being applied: the cut-out's colour samples are the
// input's, so the input's profile describes them. A profile of the gray
// colour space is applied instead (grayicc.go), because the output is
// RGB(A) and PNG allows an iCCP chunk only when its profile's colour space
// matches the image's. Other profiles (CMYK, Lab) are dropped.

// maxICCSize bounds a profile read from a compressed iCCP chunk, so that a
// small chunk cannot inflate into a large buffer. Display and camera
// profiles are a few KB; large printer profiles reach a few MB.
const maxICCSize = 8 << 20

// iccHeaderSize is the size of an ICC profile header (ICC.1:2022 7.2).
const iccHeaderSize = 128

// usableICC reports whether p looks like an ICC profile of the RGB or the
// gray colour space: a header whose size field matches len(p), the "acsp"
// signature and "RGB " or "GRAY" as the data colour space.
func usableICC(p []byte) bool {
	return len(p) >= iccHeaderSize &&
		int64(binary.BigEndian.Uint32(p)) == int64(len(p)) &&
		string(p[36:40]) == "acsp" &&
		(iccColorSpace(p) == "RGB " || iccColorSpace(p) == "GRAY")
}

// iccColorSpace returns the data colour space signature of the profile
// header p, such as "RGB " or "GRAY".
func iccColorSpace(p []byte) string { return string(p[16:20]) }

// joinICC concatenates the pieces of a profile (n bytes in all) into a
// pooled buffer, or returns nil when the result is not a usable profile.
func joinICC(pieces [][]byte, n int) []byte {
	if n < iccHeaderSize || n > maxICCSize {
		return nil
	}
	p := getBytes(n)[:0]
	for _, c := range pieces {
		p = append(p, c...)
	}
	if !usableICC(p) {
		putBytes(p)
		return nil
	}
	return p
}

// pngICC returns the profile of the iCCP chunk before the first IDAT, in a
// pooled buffer, or nil. The chunk holds a name of 1 to 79 bytes, a zero
// byte, the compression method (0: zlib) and the zlib stream.
func pngICC(data []byte) []byte {
	chunk := pngChunkBefore(data, "iCCP", "IDAT")
	if chunk == nil {
		return nil
	}
	nul := bytes.IndexByte(chunk, 0)
	if nul < 1 || nul > 79 || nul+2 > len(chunk) || chunk[nul+1] != 0 {
		return nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(chunk[nul+2:]))
	if err != nil {
		return nil
	}
	defer zr.Close()

	// The profile header gives the size, so the buffer is allocated once.
	var hdr [iccHeaderSize]byte
	if _, err := io.ReadFull(zr, hdr[:]); err != nil {
		return nil
	}
	n := int64(binary.BigEndian.Uint32(hdr[:]))
	if n < iccHeaderSize || n > maxICCSize {
		return nil
	}
	p := getBytes(int(n))
	copy(p, hdr[:])
	if _, err := io.ReadFull(zr, p[iccHeaderSize:]); err != nil || !usableICC(p) {
		putBytes(p)
		return nil
	}
	return p
}

// pngChunkBefore returns the data of the first chunk of type typ that comes
// before a chunk of type stop, or nil. Chunks are walked by their lengths,
// so image data is skipped, not read; CRCs are left for image/png.
func pngChunkBefore(data []byte, typ, stop string) []byte {
	i := 8 // after the signature
	for i+12 <= len(data) {
		n := int64(binary.BigEndian.Uint32(data[i:]))
		t := string(data[i+4 : i+8])
		end := int64(i) + 12 + n
		if end > int64(len(data)) {
			return nil
		}
		switch t {
		case typ:
			return data[i+8 : i+8+int(n)]
		case stop, "IEND":
			return nil
		}
		i = int(end)
	}
	return nil
}

// webpICC returns a copy of the ICCP chunk of an extended WebP file in a
// pooled buffer, or nil.
func webpICC(data []byte) []byte {
	chunk := webpChunk(data, "ICCP")
	if chunk == nil {
		return nil
	}
	return joinICC([][]byte{chunk}, len(chunk))
}

// decodeICC returns the usable RGB or gray profile embedded in an encoded
// image, in a pooled buffer, or nil.
func decodeICC(format string, data []byte, jpeg *jpegInfo) []byte {
	switch format {
	case FormatJPEG:
		return jpeg.icc()
	case FormatPNG:
		return pngICC(data)
	case FormatWebP:
		return webpICC(data)
	}
	return nil
}

// pngICCName is the profile name written in the iCCP chunk. PNG requires
// one; viewers show it at most.
const pngICCName = "ICC profile"

// writePNGICC writes an iCCP chunk holding profile, compressed with zlib.
func writePNGICC(w io.Writer, profile []byte) error {
	var buf bytes.Buffer
	buf.Grow(len(pngICCName) + 2 + len(profile)/2)
	buf.WriteString(pngICCName)
	buf.Write([]byte{0, 0}) // the name's terminator; compression method 0
	z, err := zlib.NewWriterLevel(&buf, zlib.DefaultCompression)
	if err != nil {
		return err
	}
	if _, err := z.Write(profile); err != nil {
		return err
	}
	if err := z.Close(); err != nil {
		return err
	}
	return writeChunk(w, "iCCP", buf.Bytes())
}

// maxICCPiece is the most profile bytes one APP2 segment carries: the
// segment length field counts itself, the signature and the two sequence
// bytes, and cannot pass 65535.
const maxICCPiece = 65535 - 2 - len(iccSignature) - 2

// jpegICCSegments returns profile as the APP2 ICC_PROFILE segments that
// carry it in a JPEG, markers included, or nil for a profile too large for
// 255 segments.
func jpegICCSegments(profile []byte) []byte {
	count := (len(profile) + maxICCPiece - 1) / maxICCPiece
	if count == 0 || count > maxICCChunks {
		return nil
	}
	out := make([]byte, 0, len(profile)+count*(4+len(iccSignature)+2))
	for seq := 1; len(profile) > 0; seq++ {
		piece := profile[:min(len(profile), maxICCPiece)]
		profile = profile[len(piece):]
		out = append(out, 0xff, markerAPP2)
		out = binary.BigEndian.AppendUint16(out, uint16(2+len(iccSignature)+2+len(piece)))
		out = append(out, iccSignature...)
		out = append(out, byte(seq), byte(count))
		out = append(out, piece...)
	}
	return out
}
