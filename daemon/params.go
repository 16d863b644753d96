package daemon

import (
	"image/color"

	"github.com/valyala/fasthttp"

	"github.com/rmbgd/rmbgd/engine"
)

// params are the options of a removal request besides the image. They come
// from JSON fields, multipart text fields or the query string.
type params struct {
	output     engine.Output
	format     string // "png" or "jpeg"; "" until set
	background color.RGBA
	bgSet      bool
}

// defaultBackground is the colour a JPEG cut-out is composited over when
// the request sets no bg_color: white, the usual default of photo
// services.
var defaultBackground = color.RGBA{R: 255, G: 255, B: 255, A: 255}

// job builds the engine job for img with these parameters.
func (p *params) job(img []byte, maxPixels int) engine.Job {
	job := engine.Job{
		Image:      img,
		Output:     p.output,
		Format:     p.format,
		Background: defaultBackground,
		MaxPixels:  maxPixels,
	}
	if job.Format == "" {
		job.Format = "png"
	}
	if p.bgSet {
		job.Background = p.background
	}
	return job
}

// setOutput parses an "output" value: "rgba" or "mask".
func (p *params) setOutput(v []byte) error {
	switch string(v) {
	case "rgba":
		p.output = engine.OutputRGBA
	case "mask":
		p.output = engine.OutputMask
	default:
		return newRequestError(fasthttp.StatusBadRequest, codeInvalidParameter,
			`invalid "output": allowed values are "rgba" and "mask"`)
	}
	return nil
}

// setFormat parses a "format" value: "png", or "jpeg" with its alias "jpg".
func (p *params) setFormat(v []byte) error {
	switch string(v) {
	case "png":
		p.format = "png"
	case "jpeg", "jpg":
		p.format = "jpeg"
	default:
		return newRequestError(fasthttp.StatusBadRequest, codeInvalidParameter,
			`invalid "format": allowed values are "png", "jpeg" and "jpg"`)
	}
	return nil
}

// setBackground parses a "bg_color" value: "#rrggbb" in hexadecimal digits
// of either case.
func (p *params) setBackground(v []byte) error {
	c, ok := parseHexColor(v)
	if !ok {
		return newRequestError(fasthttp.StatusBadRequest, codeInvalidParameter,
			`invalid "bg_color": allowed values are colors written "#rrggbb"`)
	}
	p.background = c
	p.bgSet = true
	return nil
}

// setQuery applies the output, format and bg_color query arguments, which
// take precedence over the same options in the body.
func (p *params) setQuery(args *fasthttp.Args) error {
	if v := args.Peek("output"); args.Has("output") {
		if err := p.setOutput(v); err != nil {
			return err
		}
	}
	if v := args.Peek("format"); args.Has("format") {
		if err := p.setFormat(v); err != nil {
			return err
		}
	}
	if v := args.Peek("bg_color"); args.Has("bg_color") {
		if err := p.setBackground(v); err != nil {
			return err
		}
	}
	return nil
}

func parseHexColor(v []byte) (color.RGBA, bool) {
	if len(v) != 7 || v[0] != '#' {
		return color.RGBA{}, false
	}
	var rgb [3]uint8
	for i := range rgb {
		hi, ok1 := hexDigit(v[1+2*i])
		lo, ok2 := hexDigit(v[2+2*i])
		if !ok1 || !ok2 {
			return color.RGBA{}, false
		}
		rgb[i] = hi<<4 | lo
	}
	return color.RGBA{R: rgb[0], G: rgb[1], B: rgb[2], A: 255}, true
}

func hexDigit(c byte) (uint8, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
