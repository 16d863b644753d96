package models

import "testing"

// FuzzParse feeds arbitrary bytes to the ONNX decoder and the importer.
// Either may reject the input, but neither may panic, and an accepted plan
// must be topologically ordered.
func FuzzParse(f *testing.F) {
	tiny, _, _, _, _, _ := tinyModel(tinyOptions{side: 9})
	f.Add(tiny)
	f.Add(tiny[:len(tiny)/2])
	f.Add(convModel(9, attrIs("strides", 2, 2), attrS("auto_pad", "SAME_UPPER")))
	f.Add(oneNodeModel(2, 9, 9, node("Resize", "down", []string{"x", "", "", "sizes"},
		[]string{"y"}, attrS("mode", "linear")),
		tensorI64("sizes", []int64{4}, []int64{1, 2, 4, 7})))
	f.Add([]byte{0x08, 0x96, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := parseModel(data); err != nil {
			return
		}
		p, err := ParsePlan(data, 9)
		if err != nil {
			return
		}
		checkTopological(t, p)
	})
}
