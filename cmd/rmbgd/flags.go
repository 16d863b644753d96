package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rmbgd/rmbgd/imaging"
)

// newFlagSet returns a flag set whose -h output starts with synopsis and
// description. Errors are returned, not fatal, so that run picks the exit
// status.
func newFlagSet(name, synopsis, description string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n\n%s\n", synopsis, description)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(fs.Output(), "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseArgs parses flags that may come before, between or after the
// positional arguments (the flag package alone stops at the first
// positional one) and returns the positional arguments. Everything after
// "--" is positional. A flag error becomes a usageError, except -h, which
// returns flag.ErrHelp.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// byteSize is a flag value in bytes, written as a plain number or with a
// unit: B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024),
// in any case.
type byteSize int64

var byteUnits = []struct {
	suffix string
	scale  int64
}{
	// Longer suffixes first, so that "MiB" is not read as "B".
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"b", 1},
}

func (b *byteSize) String() string {
	n := int64(*b)
	for _, u := range []struct {
		suffix string
		scale  int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.scale == 0 {
			return strconv.FormatInt(n/u.scale, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (b *byteSize) Set(s string) error {
	text := strings.ToLower(strings.TrimSpace(s))
	scale := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(text, u.suffix) {
			text, scale = strings.TrimSpace(strings.TrimSuffix(text, u.suffix)), u.scale
			break
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/scale {
		return fmt.Errorf("invalid size %q: want a number of bytes such as 1048576, "+
			"512KiB, 32MiB or 10MB", s)
	}
	*b = byteSize(n * scale)
	return nil
}

// pngLevel is the --png-level flag: "adaptive" (imaging.PNGAdaptive, the
// default), "huffman" (imaging.PNGHuffmanOnly) or a deflate level 1 to 9.
type pngLevel int

const pngLevelUsage = "PNG compression `level`: adaptive (Huffman coding, with LZ77 " +
	"where it pays; the default), huffman (fastest), or a deflate level from 1 (fast) to 9 " +
	"(smallest, many times slower)"

func (l *pngLevel) String() string {
	switch int(*l) {
	case imaging.PNGAdaptive:
		return "adaptive"
	case imaging.PNGHuffmanOnly:
		return "huffman"
	}
	return strconv.Itoa(int(*l))
}

func (l *pngLevel) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "adaptive":
		*l = imaging.PNGAdaptive
		return nil
	case "huffman":
		*l = imaging.PNGHuffmanOnly
		return nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 9 {
		return fmt.Errorf("invalid PNG level %q: want adaptive, huffman or 1 to 9", s)
	}
	*l = pngLevel(n)
	return nil
}

// queueWait is the --max-queue-wait flag: "auto" (three quarters of a
// recent batch time, engine.BatchConfig.MaxQueueWait 0), "off" (no bound, −1) or a positive
// duration.
type queueWait time.Duration

func (q *queueWait) String() string {
	switch {
	case *q == 0:
		return "auto"
	case *q < 0:
		return "off"
	}
	return time.Duration(*q).String()
}

func (q *queueWait) Set(s string) error {
	switch text := strings.ToLower(strings.TrimSpace(s)); text {
	case "auto":
		*q = 0
		return nil
	case "off":
		*q = -1
		return nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return fmt.Errorf("invalid queue wait %q: want auto, off or a positive duration "+
			"such as 1.5s", s)
	}
	*q = queueWait(d)
	return nil
}
