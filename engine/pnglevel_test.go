package engine

import (
	"bytes"
	"context"
	"image/png"
	"testing"

	"github.com/rmbgd/rmbgd/imaging"
)

func TestPipelinePNGLevel(t *testing.T) {
	const side = 32
	if _, err := NewPipeline(&panicBackend{side: side}, PipelineConfig{Side: side,
		PNG: imaging.PNGEncoder{Level: 42}}); err == nil {
		t.Fatal("NewPipeline accepted PNG level 42")
	}

	photo := testPhoto(t, 0)
	sizes := map[int]int{}
	for _, level := range []int{imaging.PNGHuffmanOnly, 9} {
		p, err := NewPipeline(&panicBackend{side: side}, PipelineConfig{Side: side,
			PNG: imaging.PNGEncoder{Level: level}})
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		res, err := p.Remove(context.Background(), Job{Image: photo})
		if err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
		if _, err := png.Decode(bytes.NewReader(res.Data)); err != nil {
			t.Errorf("level %d: the cut-out does not decode: %v", level, err)
		}
		sizes[level] = len(res.Data)
		res.Release()
		p.Close()
	}
	if sizes[9] >= sizes[imaging.PNGHuffmanOnly] {
		t.Errorf("level 9 wrote %d bytes, Huffman-only %d: the level was not used",
			sizes[9], sizes[imaging.PNGHuffmanOnly])
	}
}
