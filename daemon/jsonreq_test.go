package daemon

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rmbgd/rmbgd/engine"
)

// testPayload returns n pseudo-random bytes, the same for the same n.
func testPayload(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// escapeSlashes writes every "/" as "\/", as PHP's json_encode does.
func escapeSlashes(s string) string { return strings.ReplaceAll(s, "/", `\/`) }

// wrapLines inserts sep every width characters, as MIME base64 does.
func wrapLines(s string, width int, sep string) string {
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width])
		b.WriteString(sep)
		s = s[width:]
	}
	b.WriteString(s)
	return b.String()
}

func TestParseJSONRequestImage(t *testing.T) {
	small := testPayload(100) // 100 bytes: padded base64 ends in "=="
	big := testPayload(3 << 20)
	odd := testPayload(101) // ends in "="
	std := base64.StdEncoding.EncodeToString
	raw := base64.RawStdEncoding.EncodeToString

	tests := []struct {
		name  string
		image string // the JSON string value, quotes excluded
		want  []byte
	}{
		{"padded", std(small), small},
		{"padded one", std(odd), odd},
		{"unpadded two", raw(small), small},
		{"unpadded three", raw(odd), odd},
		{"whole quanta", std(small[:99]), small[:99]},
		{"data URL", "data:image/png;base64," + std(small), small},
		{"data URL upper case", "DATA:image/png;BASE64," + std(small), small},
		{"data URL unpadded", "data:image/jpeg;base64," + raw(odd), odd},
		{"data URL escaped", escapeSlashes("data:image/png;base64," + std(small)), small},
		{"escaped slashes", escapeSlashes(std(big)), big},
		{"escaped slashes unpadded", escapeSlashes(raw(odd)), odd},
		{"unicode escapes", strings.ReplaceAll(std(small), "A", `\u0041`), small},
		{"escaped CRLF", wrapLines(std(big), 76, `\r\n`), big},
		{"escaped LF", escapeSlashes(wrapLines(raw(odd), 60, `\n`)), odd},
		{"raw CRLF", wrapLines(std(small), 76, "\r\n"), small},
		{"huge", std(big), big},
		{"huge unpadded", raw(big[:len(big)-1]), big[:len(big)-1]},
	}
	var pool bufPool
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(`{"filename":"a.png","image":"` + tt.image + `"}`)
			var req jsonRequest
			if err := parseJSONRequest(body, &pool, &req); err != nil {
				t.Fatalf("parseJSONRequest: %v", err)
			}
			defer pool.put(req.image)
			if got := req.imageBytes(); !bytes.Equal(got, tt.want) {
				t.Fatalf("decoded %d bytes, want %d (equal prefix %d)",
					len(got), len(tt.want), commonPrefix(got, tt.want))
			}
		})
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func TestParseJSONRequestParams(t *testing.T) {
	img := base64.StdEncoding.EncodeToString(testPayload(30))
	tests := []struct {
		name   string
		fields string
		want   params
	}{
		{"none", ``, params{}},
		{"mask", `,"output":"mask"`, params{output: engine.OutputMask}},
		{"rgba jpeg", `,"output":"rgba","format":"jpeg"`,
			params{output: engine.OutputRGBA, format: "jpeg"}},
		{"png", `,"format":"png"`, params{format: "png"}},
		{"jpg alias", `,"format":"jpg"`, params{format: "jpeg"}},
		{"bg color", `,"bg_color":"#10aBfF"`,
			params{background: color.RGBA{0x10, 0xAB, 0xFF, 0xFF}, bgSet: true}},
		{"escaped value", `,"output":"m\u0061sk"`, params{output: engine.OutputMask}},
		{"escaped key", `,"for\u006dat":"jpeg"`, params{format: "jpeg"}},
		{"nulls", `,"output":null,"format":null,"bg_color":null,"filename":null`, params{}},
		{"unknown fields", `,"n":-1.5e+3,"t":true,"f":false,"z":null,` +
			`"o":{"a":[1,{"b":"\"}"},[]],"c":{}},"s":"x\\\"y","e":[]`, params{}},
		{"strings ignored", `,"filename":"Ünïcødé \"x\".png","content_type":"image/png"`,
			params{}},
		{"white space", " , \"output\" :\t\"mask\" \r\n", params{output: engine.OutputMask}},
	}
	var pool bufPool
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(` {"image":"` + img + `"` + tt.fields + "}\n")
			var req jsonRequest
			if err := parseJSONRequest(body, &pool, &req); err != nil {
				t.Fatalf("parseJSONRequest: %v", err)
			}
			pool.put(req.image)
			if req.params != tt.want {
				t.Errorf("params = %+v, want %+v", req.params, tt.want)
			}
		})
	}
}

func TestParseJSONRequestErrors(t *testing.T) {
	img := base64.StdEncoding.EncodeToString(testPayload(300))
	tests := []struct {
		name       string
		body       string
		code       string
		offset     int    // for malformed_json; -1 when there is none
		inMessage  string // a substring the message must contain
		notMessage string // a substring the message must not contain
	}{
		{"empty body", ``, codeMalformedJSON, 0, "found the end of the body", ""},
		{"array", `[]`, codeMalformedJSON, 0, "expected '{'", ""},
		{"empty object", `{}`, codeMissingImage, -1, `"image"`, ""},
		{"null image", `{"image":null}`, codeMissingImage, -1, "", ""},
		{"empty image", `{"image":""}`, codeMissingImage, -1, "empty", ""},
		{"empty data URL", `{"image":"data:image/png;base64,"}`, codeMissingImage, -1, "", ""},
		{"image not string", `{"image":12}`, codeInvalidParameter, -1, `"image"`, ""},
		{"duplicate image", `{"image":"QUJD","image":"QUJD"}`, codeInvalidParameter, -1,
			"more than once", ""},
		{"truncated in key", `{"ima`, codeMalformedJSON, 1, "unterminated string", ""},
		{"truncated after key", `{"image"`, codeMalformedJSON, 8, "expected ':'", ""},
		{"truncated in image", `{"image":"` + img[:40], codeMalformedJSON, 9,
			"unterminated", img[:8]},
		{"truncated after image", `{"image":"` + img + `"`, codeMalformedJSON,
			11 + len(img), "expected ',' or '}'", ""},
		{"truncated after comma", `{"image":"` + img + `",`, codeMalformedJSON,
			12 + len(img), "expected a field name", ""},
		{"truncated in number", `{"n":-`, codeMalformedJSON, 6, "expected a digit", ""},
		{"truncated in nested", `{"n":[1,{"a":`, codeMalformedJSON, 13, "expected a value", ""},
		{"missing colon", `{"image" "x"}`, codeMalformedJSON, 9, "found '\"'", ""},
		{"trailing comma", `{"image":"QUJD",}`, codeMalformedJSON, 16, "found '}'", ""},
		{"trailing data", `{"image":"QUJD"} x`, codeMalformedJSON, 17, "after the JSON", ""},
		{"bad literal", `{"x":tru}`, codeMalformedJSON, 5, "expected a value", ""},
		{"bad number", `{"x":01}`, codeMalformedJSON, 6, "expected ',' or '}'", ""},
		{"bad exponent", `{"x":1e}`, codeMalformedJSON, 7, "exponent", ""},
		{"control char in key", "{\"a\x01\":1}", codeMalformedJSON, 3, "control character", ""},
		{"bad escape in filename", `{"filename":"SECRET\x.png","image":"QUJD"}`,
			codeMalformedJSON, 19, "invalid escape", "SECRET"},
		{"short unicode escape", `{"filename":"\u12"}`, codeMalformedJSON, 13, "invalid escape", ""},
		{"bad escape in image", `{"image":"QU\qJD"}`, codeMalformedJSON, 12, "invalid escape", ""},
		{"deep nesting", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
			codeMalformedJSON, 5 + maxNesting, "nesting", ""},
		{"invalid char", `{"image":"QUJD!UJD"}`, codeInvalidBase64, -1, "offset 4 ", "QUJD"},
		{"invalid char escaped path", `{"image":"QUJD\/UJD!UJD"}`, codeInvalidBase64, -1,
			"offset 9 ", ""},
		{"invalid char after data URL", `{"image":"data:image/png;base64,QU*D"}`,
			codeInvalidBase64, -1, "offset 24 ", ""},
		{"invalid char late in escaped chunk",
			`{"image":"` + escapeSlashes(strings.Repeat("ab/c", 600)) + `$AAA"}`,
			codeInvalidBase64, -1, fmt.Sprintf("offset %d ", 600*5), ""},
		{"space inside", `{"image":"QUJD QUJD"}`, codeInvalidBase64, -1, "offset 4 ", ""},
		{"tab escape inside", `{"image":"QUJD\tQUJD"}`, codeInvalidBase64, -1, "offset 4 ", ""},
		{"non-ASCII escape", `{"image":"QUJD\u00e9UJD"}`, codeInvalidBase64, -1, "offset 4 ", ""},
		{"length 1 mod 4", `{"image":"QUJDQ"}`, codeInvalidBase64, -1, "middle of a byte", ""},
		{"padding inside", `{"image":"QQ==QUJD"}`, codeInvalidBase64, -1, "offset ", ""},
		{"bad padding", `{"image":"QU=J"}`, codeInvalidBase64, -1, "offset 2 ", ""},
		{"invalid char length 1 mod 4", `{"image":"QU!DQ"}`, codeInvalidBase64, -1,
			"offset 2 ", ""},
		{"padding before chunk end", `{"image":"` + escapeSlashes(strings.Repeat("ab/c", 255)) +
			`QQ==QUJD"}`, codeInvalidBase64, -1, fmt.Sprintf("offset %d ", 255*5+4), ""},
		{"data URL not base64", `{"image":"data:image/png,QUJD"}`, codeInvalidBase64, -1,
			";base64", ""},
		{"data URL without comma", `{"image":"data:` + strings.Repeat("x", 300) + `"}`,
			codeInvalidBase64, -1, "','", ""},
		{"bad output", `{"image":"QUJD","output":"alpha"}`, codeInvalidParameter, -1,
			`"output": allowed values are "rgba" and "mask"`, "alpha"},
		{"long output", `{"image":"QUJD","output":"` + strings.Repeat("m", 1000) + `"}`,
			codeInvalidParameter, -1, `"output"`, ""},
		{"bad format", `{"image":"QUJD","format":"webp"}`, codeInvalidParameter, -1,
			`"format": allowed values are "png", "jpeg" and "jpg"`, ""},
		{"bad color", `{"image":"QUJD","bg_color":"#12345g"}`, codeInvalidParameter, -1,
			`"bg_color"`, ""},
		{"short color", `{"image":"QUJD","bg_color":"#fff"}`, codeInvalidParameter, -1,
			`"bg_color"`, ""},
		{"output not string", `{"image":"QUJD","output":1}`, codeInvalidParameter, -1,
			`"output"`, ""},
		{"filename not string", `{"image":"QUJD","filename":[]}`, codeInvalidParameter, -1,
			`"filename"`, ""},
	}
	var pool bufPool
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req jsonRequest
			err := parseJSONRequest([]byte(tt.body), &pool, &req)
			var reqErr *requestError
			if !errors.As(err, &reqErr) {
				t.Fatalf("error = %v, want a *requestError", err)
			}
			if reqErr.code != tt.code {
				t.Errorf("code = %q (%s), want %q", reqErr.code, reqErr.message, tt.code)
			}
			if reqErr.offset != tt.offset {
				t.Errorf("offset = %d (%s), want %d", reqErr.offset, reqErr.message, tt.offset)
			}
			if !strings.Contains(reqErr.message, tt.inMessage) {
				t.Errorf("message %q does not contain %q", reqErr.message, tt.inMessage)
			}
			if tt.notMessage != "" && strings.Contains(reqErr.message, tt.notMessage) {
				t.Errorf("message %q quotes %q", reqErr.message, tt.notMessage)
			}
			if req.image != nil {
				t.Errorf("a buffer is left in the request after an error")
			}
		})
	}
}

func TestParseJSONRequestHugeIgnoredField(t *testing.T) {
	filler := strings.Repeat("long text \\\" with escapes ", 200_000) // about 5 MB
	body := []byte(`{"note":"` + filler + `","image":"QUJD","filename":"` + filler + `"}`)
	var pool bufPool
	var req jsonRequest
	if err := parseJSONRequest(body, &pool, &req); err != nil {
		t.Fatalf("parseJSONRequest: %v", err)
	}
	defer pool.put(req.image)
	if got := string(req.imageBytes()); got != "ABC" {
		t.Errorf("image = %q, want %q", got, "ABC")
	}
}

// typicalBody is a JSON request as a web client sends it: a 200 KB image
// and the usual options.
func typicalBody(escaped bool) []byte {
	text := "data:image/png;base64," + base64.StdEncoding.EncodeToString(testPayload(200<<10))
	if escaped {
		text = escapeSlashes(text)
	}
	return []byte(`{"image":"` + text + `","filename":"photo.png",` +
		`"content_type":"image/png","output":"rgba","format":"png","bg_color":"#ffffff"}`)
}

func TestParseJSONRequestZeroAlloc(t *testing.T) {
	for _, escaped := range []bool{false, true} {
		t.Run(fmt.Sprintf("escaped=%v", escaped), func(t *testing.T) {
			body := typicalBody(escaped)
			var pool bufPool
			allocs := testing.AllocsPerRun(50, func() {
				var req jsonRequest
				if err := parseJSONRequest(body, &pool, &req); err != nil {
					t.Fatal(err)
				}
				pool.put(req.image)
			})
			if allocs != 0 {
				t.Errorf("parseJSONRequest allocates %.1f times a call, want 0", allocs)
			}
		})
	}
}

func BenchmarkParseJSONRequest(b *testing.B) {
	for _, escaped := range []bool{false, true} {
		b.Run(fmt.Sprintf("escaped=%v", escaped), func(b *testing.B) {
			body := typicalBody(escaped)
			var pool bufPool
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var req jsonRequest
				if err := parseJSONRequest(body, &pool, &req); err != nil {
					b.Fatal(err)
				}
				pool.put(req.image)
			}
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	img := base64.StdEncoding.EncodeToString(testPayload(40))
	for _, seed := range []string{
		`{"image":"` + img + `"}`,
		`{"image":"` + escapeSlashes("data:image/png;base64,"+img) + `","output":"mask"}`,
		`{"image":"` + wrapLines(img, 8, `\r\n`) + `","format":"jpeg","bg_color":"#000000"}`,
		`{"filename":"a\u00e9.png","x":[1,2,{"y":null}],"image":"QUJ"}`,
		`{"image":"QQ=="}`,
		`{"image":"QQ=","n":-0.5e-3}`,
		`{"image":`,
		`{}`,
	} {
		f.Add([]byte(seed))
	}
	var pool bufPool
	f.Fuzz(func(t *testing.T, body []byte) {
		var req jsonRequest
		err := parseJSONRequest(body, &pool, &req)
		if err != nil {
			checkFuzzError(t, body, err)
			if req.image != nil {
				t.Fatal("a buffer is left in the request after an error")
			}
			return
		}
		defer pool.put(req.image)

		var doc struct {
			Image *string `json:"image"`
		}
		if jsonErr := json.Unmarshal(body, &doc); jsonErr != nil {
			// The one leniency: raw control characters inside the image
			// string, which encoding/json rejects and base64 ignores (CR, LF).
			if !bytes.ContainsAny(body, "\r\n") {
				t.Fatalf("accepted a body encoding/json rejects: %v", jsonErr)
			}
			return
		}
		if doc.Image == nil {
			t.Fatal("accepted a body without an image")
		}
		want, refErr := referenceDecode(*doc.Image)
		if refErr != nil {
			t.Fatalf("accepted an image the reference decoder rejects: %v", refErr)
		}
		if !bytes.Equal(req.imageBytes(), want) {
			t.Fatalf("decoded %x, want %x", req.imageBytes(), want)
		}
	})
}

// checkFuzzError checks that err is a request error with a known code and,
// for syntax errors, an offset inside the body.
func checkFuzzError(t *testing.T, body []byte, err error) {
	t.Helper()
	var reqErr *requestError
	if !errors.As(err, &reqErr) {
		t.Fatalf("error %v is not a *requestError", err)
	}
	switch reqErr.code {
	case codeMalformedJSON:
		if reqErr.offset < 0 || reqErr.offset > len(body) {
			t.Fatalf("offset %d outside the body of %d bytes", reqErr.offset, len(body))
		}
	case codeMissingImage, codeInvalidBase64, codeInvalidParameter:
		if reqErr.offset != -1 {
			t.Fatalf("%s error with offset %d", reqErr.code, reqErr.offset)
		}
	default:
		t.Fatalf("unexpected code %q", reqErr.code)
	}
}

// referenceDecode decodes an image string value the slow, obvious way.
func referenceDecode(s string) ([]byte, error) {
	if len(s) >= 5 && strings.EqualFold(s[:5], "data:") {
		comma := strings.IndexByte(s, ',')
		if comma < 0 {
			return nil, errors.New("data URL without comma")
		}
		s = s[comma+1:]
	}
	s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	if len(s)%4 != 0 {
		s += strings.Repeat("=", 4-len(s)%4)
	}
	return base64.StdEncoding.DecodeString(s)
}

// TestParseJSONRequestChunkBoundaries decodes escaped texts whose length
// falls around the chunk size, with escapes and line breaks in random
// places, including padding that ends a chunk exactly.
func TestParseJSONRequestChunkBoundaries(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var pool bufPool
	for _, chars := range []int{base64Chunk - 4, base64Chunk, base64Chunk + 4,
		2*base64Chunk - 4, 2 * base64Chunk, 2*base64Chunk + 4, 3*base64Chunk + 8} {
		for _, variant := range []struct {
			tail int // bytes past whole 3-byte groups
			enc  *base64.Encoding
		}{
			{0, base64.StdEncoding}, {1, base64.StdEncoding}, {2, base64.StdEncoding},
			{1, base64.RawStdEncoding}, {2, base64.RawStdEncoding},
		} {
			payload := testPayload(chars/4*3 - 3 + variant.tail)
			text := variant.enc.EncodeToString(payload)
			var b strings.Builder
			for i := 0; i < len(text); i++ {
				switch c := text[i]; {
				case r.IntN(8) == 0:
					fmt.Fprintf(&b, `\u%04x`, c)
				case c == '/':
					b.WriteString(`\/`)
				default:
					b.WriteByte(c)
				}
				if r.IntN(50) == 0 {
					b.WriteString(`\r\n`)
				}
			}
			b.WriteString(`\r\n`)
			name := fmt.Sprintf("%d chars tail %d", len(text), variant.tail)
			t.Run(name, func(t *testing.T) {
				var req jsonRequest
				body := []byte(`{"image":"` + b.String() + `"}`)
				if err := parseJSONRequest(body, &pool, &req); err != nil {
					t.Fatalf("parseJSONRequest: %v", err)
				}
				defer pool.put(req.image)
				if !bytes.Equal(req.imageBytes(), payload) {
					t.Fatalf("decoded %d bytes, want %d (equal prefix %d)", req.imageLen,
						len(payload), commonPrefix(req.imageBytes(), payload))
				}
			})
		}
	}
}
