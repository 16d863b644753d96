package models

import (
	"os"
	"path/filepath"
	"strings"
)

// NPMPackage is the npm package, pinned to one version, that Fetch takes
// model files from. It is licensed AGPL-3.0: rmbgd downloads it at set-up
// and never bundles it.
const NPMPackage = "@imgly/background-removal-data@1.4.5"

// Spec identifies one model file and how to obtain and verify it.
type Spec struct {
	Name     string // the name users pass to Lookup, e.g. "isnet-general-use"
	File     string // the file name inside the model folder
	Resource string // the key of the file in the package's dist/resources.json
	Size     int64  // the file's size in bytes
	SHA256   string // the file's SHA-256, lowercase hex
}

// Default is the model rmbgd serves: ISNet "isnet-general-use" with float16
// weights (float32 input and output).
var Default = Spec{
	Name:     "isnet-general-use",
	File:     "isnet_fp16.onnx",
	Resource: "/models/medium",
	Size:     88188479,
	SHA256:   "b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb",
}

// Quint8 is the dynamically quantized ISNet of the same package. It can be
// fetched and located, but ParsePlan rejects it: its ConvInteger and
// DynamicQuantizeLinear nodes are not supported.
var Quint8 = Spec{
	Name:     "isnet-general-use-quint8",
	File:     "isnet_quint8.onnx",
	Resource: "/models/small",
	Size:     44342436,
	SHA256:   "7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a",
}

// Known lists every model Lookup finds, Default first.
var Known = []Spec{Default, Quint8}

// Lookup returns the known model whose Name, File or Resource equals name.
func Lookup(name string) (Spec, bool) {
	for _, s := range Known {
		if name == s.Name || name == s.File || name == s.Resource {
			return s, true
		}
	}
	return Spec{}, false
}

// Home returns rmbgd's data folder: $RMBGD_HOME when set, else
// ~/.local/share/rmbgd. When the home folder is unknown too, it returns
// ".rmbgd", relative to the working directory.
func Home() string {
	if h := strings.TrimSpace(os.Getenv("RMBGD_HOME")); h != "" {
		return h
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ".rmbgd"
	}
	return filepath.Join(home, ".local", "share", "rmbgd")
}

// Dir returns the folder models are installed in: Home()/models.
func Dir() string { return filepath.Join(Home(), "models") }
