package main

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rmbgd/rmbgd/daemon"
	"github.com/rmbgd/rmbgd/engine"
	"github.com/rmbgd/rmbgd/imaging"
)

// imageExtensions are the file name extensions cut takes from a folder:
// the formats the engine decodes.
var imageExtensions = []string{".png", ".jpg", ".jpeg", ".gif", ".webp"}

// cutOptions are the flags of cut.
type cutOptions struct {
	out       string
	mask      bool
	format    string
	maxPixels int
	threads   int
	pngLevel  pngLevel
	modelPath string
	bgColor   string
	bg        color.RGBA // bgColor parsed
}

func runCut(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cut", "rmbgd cut IN -o OUT [flags]",
		"Cut out the foreground of IN, an image file or a folder, with the same pipeline\n"+
			"as the daemon but without HTTP. For a folder, every image file in it (not in\n"+
			"subfolders) is processed, and OUT is a folder, created if needed, that gets\n"+
			"one file per input: its base name with .png (or .jpg for JPEG output).", stderr)
	var opt cutOptions
	fs.StringVar(&opt.out, "o", "", "output `path`: a file, or a folder when IN is a folder")
	fs.BoolVar(&opt.mask, "mask", false, "write the 8-bit mask instead of the cut-out")
	fs.StringVar(&opt.format, "format", "", "output format, png or jpeg "+
		"(default: from the extension of -o, else png)")
	fs.StringVar(&opt.bgColor, "bg-color", "#ffffff",
		"background of a JPEG cut-out, as `#rrggbb`")
	fs.IntVar(&opt.maxPixels, "max-pixels", daemon.DefaultMaxPixels,
		"largest input image, in pixels (width × height); 0 for no limit")
	fs.IntVar(&opt.threads, "threads", 0, "inference threads (0: one per core)")
	fs.Var(&opt.pngLevel, "png-level", pngLevelUsage)
	fs.StringVar(&opt.modelPath, "model", "", "ONNX model `file` (default: the installed "+
		"isnet-general-use)")
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) != 1:
		return usagef("want exactly one input file or folder, got %d arguments", len(rest))
	case opt.out == "":
		return usagef("-o OUT is required")
	case opt.format != "" && opt.format != "png" && opt.format != "jpeg":
		return usagef("invalid -format %q: want png or jpeg", opt.format)
	}
	bg, ok := parseHexColor(opt.bgColor)
	if !ok {
		return usagef("invalid -bg-color %q: want #rrggbb", opt.bgColor)
	}
	opt.bg = bg

	pairs, err := cutPlan(rest[0], opt)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	path, err := resolveModel(opt.modelPath)
	if err != nil {
		return err
	}
	eng, err := openEngine(path, opt.threads, imaging.PNGEncoder{Level: int(opt.pngLevel)},
		engine.BatchConfig{}, log)
	if err != nil {
		return err
	}
	defer closeEngine(eng, log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cutAll(ctx, eng, pairs, opt, stdout, stderr)
}

// cutPair is one input file and the output file it becomes.
type cutPair struct{ in, out string }

// cutPlan lists the files cut reads and writes, and creates the output
// folder when the input is a folder. Two inputs that would write the same
// output file are an error, and so is an output that is an input or an
// existing file other than a regular one (a symbolic link, a device, a
// FIFO), which the atomic rename would replace. Both are found before any
// work starts.
func cutPlan(in string, opt cutOptions) ([]cutPair, error) {
	info, err := os.Stat(in)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		out := opt.out
		if st, err := os.Stat(out); err == nil && st.IsDir() {
			out = filepath.Join(out, outputName(in, opt))
		}
		pairs := []cutPair{{in, out}}
		return pairs, checkOutputs(pairs)
	}

	entries, err := os.ReadDir(in)
	if err != nil {
		return nil, err
	}
	var pairs []cutPair
	from := map[string]string{} // output name → input name
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.Type().IsRegular() || !slices.Contains(imageExtensions, ext) {
			continue
		}
		name := outputName(e.Name(), opt)
		if other, ok := from[name]; ok {
			return nil, fmt.Errorf("%s and %s would both be written to %s; "+
				"rename one of them", other, e.Name(), name)
		}
		from[name] = e.Name()
		pairs = append(pairs, cutPair{filepath.Join(in, e.Name()), filepath.Join(opt.out, name)})
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("no image files (%s) in %s", strings.Join(imageExtensions, " "), in)
	}
	if err := checkOutputs(pairs); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opt.out, 0o755); err != nil {
		return nil, err
	}
	return pairs, nil
}

// checkOutputs returns an error when an output of pairs exists and is not
// a regular file, or is the same file as one of the inputs.
func checkOutputs(pairs []cutPair) error {
	var inputs []os.FileInfo
	for _, p := range pairs {
		if st, err := os.Stat(p.in); err == nil {
			inputs = append(inputs, st)
		}
	}
	for _, p := range pairs {
		st, err := os.Lstat(p.out)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("output %s exists and is not a regular file; "+
				"remove it or choose another output", p.out)
		}
		for _, in := range inputs {
			if os.SameFile(st, in) {
				return fmt.Errorf("output %s is an input file, which the cut-out would "+
					"replace; choose another output", p.out)
			}
		}
	}
	return nil
}

// outputName is the output file name for input file in.
func outputName(in string, opt cutOptions) string {
	base := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
	if opt.format == "jpeg" && !opt.mask {
		return base + ".jpg"
	}
	return base + ".png"
}

// outputFormat picks the format for one output file: -format when given,
// else the output's extension, else PNG.
func outputFormat(out string, opt cutOptions) string {
	if opt.format != "" {
		return opt.format
	}
	switch strings.ToLower(filepath.Ext(out)) {
	case ".jpg", ".jpeg":
		return "jpeg"
	}
	return "png"
}

// cutAll processes every pair, going on after a failed one, and returns an
// error when any failed.
func cutAll(ctx context.Context, eng pipeline, pairs []cutPair, opt cutOptions,
	stdout, stderr io.Writer) error {
	failed := 0
	for _, p := range pairs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := cutOne(ctx, eng, p, opt, stdout); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", p.in, err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images failed", failed, len(pairs))
	}
	return nil
}

func cutOne(ctx context.Context, eng pipeline, p cutPair, opt cutOptions, stdout io.Writer) error {
	data, err := os.ReadFile(p.in)
	if err != nil {
		return err
	}
	job := engine.Job{
		Image:      data,
		Format:     outputFormat(p.out, opt),
		Background: opt.bg,
		MaxPixels:  opt.maxPixels,
	}
	if opt.mask {
		job.Output = engine.OutputMask
		job.Format = "png"
	}

	start := time.Now()
	res, err := eng.Remove(ctx, job)
	if err != nil {
		return err
	}
	defer res.Release()
	if err := writeFileAtomic(p.out, res.Data); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s -> %s (%d×%d, %d ms)\n", p.in, p.out, res.Width, res.Height,
		time.Since(start).Milliseconds())
	return nil
}

// parseHexColor parses "#rrggbb".
func parseHexColor(s string) (color.RGBA, bool) {
	if len(s) != 7 || s[0] != '#' {
		return color.RGBA{}, false
	}
	v, err := strconv.ParseUint(s[1:], 16, 32)
	if err != nil {
		return color.RGBA{}, false
	}
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 255}, true
}

// writeFileAtomic writes data to a temporary file beside path and renames
// it into place, so that an interrupted run leaves no partial image.
func writeFileAtomic(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".rmbgd-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
