package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/rmbgd/rmbgd/imaging"
)

// version is the release version, set at build time with
// -ldflags "-X main.version=v1.2.3". Without it, the module version or the
// VCS revision from the build information is printed.
var version = ""

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "rmbgd version", "Print the version of rmbgd.", stderr)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	fmt.Fprintf(stdout, "rmbgd %s %s %s/%s, JPEG decoder %s\n", buildVersion(),
		runtime.Version(), runtime.GOOS, runtime.GOARCH, imaging.JPEGDecoder())
	return nil
}

// buildVersion returns version, else the module version, else "devel" with
// the VCS revision when the build recorded one.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	v := "devel"
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v += " " + s.Value[:min(len(s.Value), 12)]
		case "vcs.modified":
			if s.Value == "true" {
				v += "+dirty"
			}
		}
	}
	return v
}
