package daemon

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
	"unsafe"

	"github.com/rmbgd/rmbgd/engine"
)

// multipartBody joins parts with CRLF line ends around boundary "B0undary".
func multipartBody(parts ...string) string {
	var b strings.Builder
	b.WriteString("preamble\r\n")
	for _, p := range parts {
		b.WriteString("--B0undary\r\n" + p + "\r\n")
	}
	b.WriteString("--B0undary--\r\nepilogue")
	return b.String()
}

const imagePart = "Content-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n" +
	"Content-Type: image/png\r\n\r\nPNG\r\nDATA\r\n--not-the-boundary"

func TestParseMultipart(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		image  string
		params params
	}{
		{"image only", multipartBody(imagePart), "PNG\r\nDATA\r\n--not-the-boundary", params{}},
		{"with options", multipartBody(
			"Content-Disposition: form-data; name=\"output\"\r\n\r\nmask",
			imagePart,
			"content-disposition: form-data; name=format\r\n\r\n jpeg ",
			"Content-Disposition: form-data; name=\"note\"\r\n\r\nignored"),
			"PNG\r\nDATA\r\n--not-the-boundary",
			params{output: engine.OutputMask, format: "jpeg"}},
		{"LF line ends", "--B0undary\nContent-Disposition: form-data; name=\"image\"\n\n" +
			"XY\n--B0undary--\n", "XY", params{}},
		{"no preamble", "--B0undary\r\nContent-Disposition: form-data; name=image\r\n\r\n" +
			"Z\r\n--B0undary--", "Z", params{}},
		{"padding after delimiter", "--B0undary  \r\nContent-Disposition: form-data; " +
			"name=image\r\nContent-Transfer-Encoding: binary\r\n\r\nQ\r\n--B0undary--",
			"Q", params{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p params
			body := []byte(tt.body)
			img, err := parseMultipart(body, []byte("B0undary"), &p)
			if err != nil {
				t.Fatalf("parseMultipart: %v", err)
			}
			if string(img) != tt.image {
				t.Errorf("image = %q, want %q", img, tt.image)
			}
			if !within(img, body) {
				t.Error("the image is a copy, not a part of the body")
			}
			if p != tt.params {
				t.Errorf("params = %+v, want %+v", p, tt.params)
			}
		})
	}
}

func TestParseMultipartErrors(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		boundary string
		code     string
	}{
		{"no boundary", multipartBody(imagePart), "", codeMalformedMultipart},
		{"long boundary", multipartBody(imagePart), strings.Repeat("b", 71),
			codeMalformedMultipart},
		{"no delimiter", "just text", "B0undary", codeMalformedMultipart},
		{"no close", "--B0undary\r\nContent-Disposition: form-data; name=image\r\n\r\nXY",
			"B0undary", codeMalformedMultipart},
		{"junk after delimiter", "--B0undaryX\r\n\r\nXY\r\n--B0undary--", "B0undary",
			codeMalformedMultipart},
		{"header line without colon", multipartBody("Bad header\r\n\r\nXY"), "B0undary",
			codeMalformedMultipart},
		{"header too long", multipartBody("X-Long: " + strings.Repeat("a", 9000) + "\r\n\r\nXY"),
			"B0undary", codeMalformedMultipart},
		{"not form-data", multipartBody("Content-Disposition: attachment; name=image\r\n\r\nXY"),
			"B0undary", codeMalformedMultipart},
		{"base64 transfer encoding", multipartBody("Content-Disposition: form-data; " +
			"name=image\r\nContent-Transfer-Encoding: base64\r\n\r\nWFk="), "B0undary",
			codeMalformedMultipart},
		{"no image", multipartBody("Content-Disposition: form-data; name=output\r\n\r\nmask"),
			"B0undary", codeMissingImage},
		{"empty image", multipartBody("Content-Disposition: form-data; name=image\r\n\r\n"),
			"B0undary", codeMissingImage},
		{"two images", multipartBody(imagePart, imagePart), "B0undary", codeInvalidParameter},
		{"bad option", multipartBody(imagePart, "Content-Disposition: form-data; "+
			"name=format\r\n\r\ntiff"), "B0undary", codeInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p params
			_, err := parseMultipart([]byte(tt.body), []byte(tt.boundary), &p)
			var reqErr *requestError
			if !errors.As(err, &reqErr) {
				t.Fatalf("error = %v, want a *requestError", err)
			}
			if reqErr.code != tt.code {
				t.Errorf("code = %q (%s), want %q", reqErr.code, reqErr.message, tt.code)
			}
		})
	}
}

// within reports whether part lies inside whole's memory.
func within(part, whole []byte) bool {
	if len(part) == 0 {
		return true
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(part)))
	w := uintptr(unsafe.Pointer(unsafe.SliceData(whole)))
	return p >= w && p+uintptr(len(part)) <= w+uintptr(len(whole))
}

func FuzzParseMultipart(f *testing.F) {
	f.Add([]byte(multipartBody(imagePart)))
	f.Add([]byte(multipartBody("Content-Disposition: form-data; name=output\r\n\r\nmask",
		imagePart)))
	f.Add([]byte("--B0undary\nContent-Disposition: form-data; name=image\n\nXY\n--B0undary--"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var p params
		img, err := parseMultipart(body, []byte("B0undary"), &p)
		if err != nil {
			var reqErr *requestError
			if !errors.As(err, &reqErr) {
				t.Fatalf("error %v is not a *requestError", err)
			}
			return
		}
		if len(img) == 0 || !within(img, body) {
			t.Fatalf("image of %d bytes is empty or not a part of the body", len(img))
		}

		// Where mime/multipart reads the same body to its end, it must find
		// the same image.
		mr := multipart.NewReader(bytes.NewReader(body), "B0undary")
		var want []byte
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
			data, err := io.ReadAll(part)
			if err != nil {
				return
			}
			if part.FormName() == "image" && want == nil {
				want = data
			}
		}
		if want != nil && !bytes.Equal(img, want) {
			t.Fatalf("image = %q, mime/multipart read %q", img, want)
		}
	})
}

func TestFormFieldName(t *testing.T) {
	tests := []struct {
		name  string
		value string
		field string
		ok    bool
	}{
		{"token", `form-data; name=image`, "image", true},
		{"quoted", `form-data; name="image"; filename="a.png"`, "image", true},
		{"case of type and key", `Form-Data; NAME="format"`, "format", true},
		{"name is case-sensitive", `form-data; name="Image"`, "", true},
		{"white space", "form-data ;\tname = \"bg_color\" ; filename=x", "bg_color", true},
		{"escaped name", `form-data; name="im\age"`, "", true},
		{"escaped tspecial in name", `form-data; name="out\"put"`, "", true},
		{"escaped quote in filename", `form-data; filename="a\";name=x.png"; name=output`,
			"output", true},
		{"semicolon in filename", `form-data; filename="a;name=format"; name="image"`,
			"image", true},
		{"Windows path filename", `form-data; name="image"; filename="C:\dir\a.png"`,
			"image", true},
		{"filename before name", `form-data; filename=a.png; name=image`, "image", true},
		{"RFC 2231 filename", `form-data; name=image; filename*=UTF-8''%e2%82%ac.png`,
			"image", true},
		{"RFC 2231 name", `form-data; name*=utf-8''bg%5Fcolor`, "bg_color", true},
		{"RFC 2231 name wins", `form-data; name=output; name*=UTF-8'en'image`,
			"image", true},
		{"RFC 2231 other charset", `form-data; name=output; name*=latin1''image`,
			"output", true},
		{"RFC 2231 bad escape", `form-data; name=output; name*=utf-8''%zzimage`,
			"output", true},
		{"RFC 2231 truncated escape", `form-data; name=output; name*=utf-8''image%4`,
			"output", true},
		{"long name", `form-data; name="image-and-more"`, "", true},
		{"no name", `form-data; filename="a.png"`, "", true},
		{"trailing semicolon", `form-data; name=image;`, "image", true},
		{"only type", `form-data`, "", true},
		{"not form-data", `attachment; name=image`, "", false},
		{"empty", ``, "", false},
		{"two names", `form-data; name=image; name=output`, "", false},
		{"two extended names", `form-data; name*=utf-8''a; NAME*=utf-8''b`, "", false},
		{"unterminated quote", `form-data; name="image`, "", false},
		{"unterminated filename", `form-data; name=image; filename="a.png`, "", false},
		{"missing value", `form-data; name=`, "", false},
		{"missing equals", `form-data; name image`, "", false},
		{"no semicolon", `form-data name=image`, "", false},
		{"junk after value", `form-data; name=image x`, "", false},
		{"empty key", `form-data; =image`, "", false},
		{"CR in quotes", "form-data; name=\"ima\rge\"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			field, ok := formFieldName([]byte(tt.value))
			if field != tt.field || ok != tt.ok {
				t.Errorf("formFieldName(%q) = %q, %v; want %q, %v",
					tt.value, field, ok, tt.field, tt.ok)
			}
		})
	}
}

func TestFormFieldNameNoAlloc(t *testing.T) {
	value := []byte(`form-data; name="image"; filename="C:\dir\a.png"; ` +
		`filename*=UTF-8''%e2%82%ac.png`)
	allocs := testing.AllocsPerRun(100, func() {
		if field, ok := formFieldName(value); field != "image" || !ok {
			t.Fatalf("formFieldName = %q, %v", field, ok)
		}
	})
	if allocs != 0 {
		t.Errorf("formFieldName allocates %v times, want 0", allocs)
	}
}

// FuzzFormFieldName checks formFieldName against mime.ParseMediaType:
// where both accept a value, they find the same field.
func FuzzFormFieldName(f *testing.F) {
	for _, v := range []string{
		`form-data; name="image"; filename="a.png"`,
		`form-data; name*=utf-8''bg%5Fcolor; filename="a\"b"`,
		`form-data; filename="C:\dir\a.png"; name=output`,
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		field, ok := formFieldName([]byte(v))
		if ok && field != "" && field != "image" && field != "output" &&
			field != "format" && field != "bg_color" {
			t.Fatalf("formFieldName(%q) = unknown field %q", v, field)
		}
		disposition, params, err := mime.ParseMediaType(v)
		// mime joins name*0, name*1, ... which formFieldName leaves out.
		if err != nil || !ok || disposition != "form-data" ||
			strings.Contains(strings.ToLower(v), "name*0") {
			return
		}
		if want := knownField([]byte(params["name"])); field != want {
			t.Fatalf("formFieldName(%q) = %q, mime.ParseMediaType found %q",
				v, field, params["name"])
		}
	})
}
