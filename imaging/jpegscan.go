package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// JPEG marker bytes, after the 0xff that starts each marker.
const (
	markerSOF0  = 0xc0 // baseline DCT
	markerSOF1  = 0xc1 // extended sequential DCT, Huffman coding
	markerSOF2  = 0xc2 // progressive DCT, Huffman coding
	markerDHT   = 0xc4
	markerJPG   = 0xc8
	markerDAC   = 0xcc
	markerSOI   = 0xd8
	markerEOI   = 0xd9
	markerSOS   = 0xda
	markerAPP2  = 0xe2
	markerAPP14 = 0xee
)

// jpegInfo is the summary of a JPEG's markers that scanJPEG reads without
// decoding any pixel.
type jpegInfo struct {
	sof        byte    // the frame's SOFn marker; 0 when there is none
	precision  int     // bits per sample
	components []uint8 // component ids in frame order, at most 4 kept
	adobe      bool    // an Adobe APP14 segment is present
	iccChunks  [][]byte
	iccCount   int  // chunk count the ICC_PROFILE segments declare
	eoi        bool // an EOI marker follows the last scan

	// complete reports that every component got all its coefficients:
	// each appears in a scan of a sequential JPEG, and every coefficient
	// of every component is refined to the last bit (Al = 0) in a
	// progressive one.
	complete bool
}

// variant names the JPEG processes image/jpeg does not implement, for
// an UnsupportedFormatError, or returns "" for a supported frame.
func (info *jpegInfo) variant() string {
	switch info.sof {
	case markerSOF0, markerSOF1, markerSOF2:
		if info.precision != 8 && info.precision != 0 {
			return "jpeg-12bit"
		}
		return ""
	case 0xc3, 0xcb:
		return "jpeg-lossless"
	case 0xc5, 0xc6, 0xc7, 0xcd, 0xce, 0xcf:
		return "jpeg-hierarchical"
	case 0xc9, 0xca:
		return "jpeg-arithmetic"
	}
	return ""
}

var errIncompleteJPEG = errors.New("the JPEG scans do not cover every coefficient, " +
	"so the file is cut short")

// scanJPEG walks the markers of a JPEG from SOI to EOI. Entropy-coded data
// is skipped with a byte search, so the cost is about that of reading the
// file once. With headerOnly it stops at the first SOS. It never fails:
// what it cannot read is left for image/jpeg to report.
func scanJPEG(data []byte, headerOnly bool) jpegInfo {
	var info jpegInfo
	var sc jpegScanState
	i := 2 // after SOI
	for i+1 < len(data) {
		if data[i] != 0xff {
			// image/jpeg and libjpeg skip stray bytes between segments.
			j := bytes.IndexByte(data[i:], 0xff)
			if j < 0 {
				break
			}
			i += j
			continue
		}
		marker := data[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == 0x00, marker == 0x01, marker >= 0xd0 && marker <= markerSOI:
			i += 2 // markers without a length
			continue
		case marker == markerEOI:
			info.eoi = true
			info.complete = sc.complete(&info)
			return info
		}
		if i+4 > len(data) {
			break
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			break
		}
		seg := data[i+4 : i+2+n]
		i += 2 + n

		switch {
		case marker >= markerSOF0 && marker <= 0xcf &&
			marker != markerDHT && marker != markerJPG && marker != markerDAC:
			if info.sof == 0 {
				info.readSOF(marker, seg)
			}
		case marker == markerAPP2:
			info.addICCChunk(seg)
		case marker == markerAPP14:
			if len(seg) >= 12 && bytes.HasPrefix(seg, []byte("Adobe")) {
				info.adobe = true
			}
		case marker == markerSOS:
			if headerOnly {
				return info
			}
			sc.addScan(&info, seg)
			i = skipEntropyData(data, i)
		}
	}
	info.complete = sc.complete(&info)
	return info
}

// readSOF reads the precision and the component ids of a frame header.
func (info *jpegInfo) readSOF(marker byte, seg []byte) {
	info.sof = marker
	if len(seg) < 6 {
		return
	}
	info.precision = int(seg[0])
	n := int(seg[5])
	for k := 0; k < n && k < 4 && 6+3*k < len(seg); k++ {
		info.components = append(info.components, seg[6+3*k])
	}
}

// skipEntropyData returns the offset of the first marker at or after i
// that ends entropy-coded data: 0xff followed by anything but a stuffed
// zero, a restart marker or another 0xff. It returns len(data) when the
// data ends first.
func skipEntropyData(data []byte, i int) int {
	for {
		j := bytes.IndexByte(data[i:], 0xff)
		if j < 0 || i+j+1 >= len(data) {
			return len(data)
		}
		i += j
		m := data[i+1]
		if m == 0x00 || m == 0xff || m >= 0xd0 && m <= 0xd7 {
			i++
			continue
		}
		return i
	}
}

// jpegScanState records which coefficients the scans seen so far carry.
type jpegScanState struct {
	seen [4]bool // sequential: the component appeared in a scan
	// al is, for a progressive JPEG, the bit position each coefficient of
	// each component is known to, plus one; 0 means not yet sent, 1 means
	// complete.
	al [4][64]uint8
}

// addScan records one SOS header.
func (sc *jpegScanState) addScan(info *jpegInfo, seg []byte) {
	if len(seg) < 1 {
		return
	}
	ns := int(seg[0])
	if len(seg) < 1+2*ns+3 {
		return
	}
	ss, se := int(seg[1+2*ns]), int(seg[2+2*ns])
	al := seg[3+2*ns] & 0x0f
	for k := 0; k < ns; k++ {
		c := bytes.IndexByte(info.components, seg[1+2*k])
		if c < 0 {
			continue
		}
		sc.seen[c] = true
		if info.sof != markerSOF2 {
			continue
		}
		for z := ss; z <= se && z < 64; z++ {
			if v := &sc.al[c][z]; *v == 0 || al+1 < *v {
				*v = al + 1
			}
		}
	}
}

// complete reports whether the scans cover every component fully.
func (sc *jpegScanState) complete(info *jpegInfo) bool {
	if len(info.components) == 0 {
		return false
	}
	for c := range info.components {
		if !sc.seen[c] {
			return false
		}
		if info.sof != markerSOF2 {
			continue
		}
		for _, v := range sc.al[c] {
			if v != 1 {
				return false
			}
		}
	}
	return true
}

// iccSignature starts each APP2 segment that carries a piece of an ICC
// profile; a sequence number (from 1) and the count of pieces follow.
const iccSignature = "ICC_PROFILE\x00"

// maxICCChunks bounds the pieces kept: a sequence number is one byte.
const maxICCChunks = 255

func (info *jpegInfo) addICCChunk(seg []byte) {
	if len(seg) < len(iccSignature)+2 || !bytes.HasPrefix(seg, []byte(iccSignature)) ||
		len(info.iccChunks) >= maxICCChunks {
		return
	}
	seq, count := int(seg[12]), int(seg[13])
	if seq == 0 || seq > count || info.iccCount != 0 && count != info.iccCount {
		info.iccCount = -1 // inconsistent: the profile is dropped
		return
	}
	if info.iccCount < 0 {
		return
	}
	info.iccCount = count
	if info.iccChunks == nil {
		info.iccChunks = make([][]byte, count)
	}
	if info.iccChunks[seq-1] != nil {
		info.iccCount = -1 // the same piece twice
		return
	}
	info.iccChunks[seq-1] = seg[14:]
}

// icc reassembles the ICC profile from its APP2 pieces into a pooled
// buffer, or returns nil when there is none or a piece is missing.
func (info *jpegInfo) icc() []byte {
	if info.iccCount <= 0 {
		return nil
	}
	n := 0
	for _, c := range info.iccChunks {
		if c == nil {
			return nil
		}
		n += len(c)
	}
	return joinICC(info.iccChunks, n)
}

// adobeAPP14 is an Adobe APP14 segment with transform 0 (no colour
// transform), which image/jpeg requires before it decodes a 4-component
// JPEG. It is inserted into JPEGs that have none.
var adobeAPP14 = []byte{0xff, markerAPP14, 0, 14, 'A', 'd', 'o', 'b', 'e',
	0, 100, 0, 0, 0, 0, 0}

// jpegEOI ends a JPEG whose data stops after its last scan.
var jpegEOI = []byte{0xff, markerEOI}
