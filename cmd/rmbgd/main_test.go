package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rmbgd/rmbgd/imaging"
)

func TestByteSizeSet(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1048576", 1 << 20, false},
		{"32MiB", 32 << 20, false},
		{"32mib", 32 << 20, false},
		{"512 KiB", 512 << 10, false},
		{"2GiB", 2 << 30, false},
		{"10MB", 10_000_000, false},
		{"7kb", 7000, false},
		{"100B", 100, false},
		{"0", 0, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"-1MiB", 0, true},
		{"1.5MiB", 0, true},
		{"32 megabytes", 0, true},
		{"99999999999GiB", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var b byteSize
			err := b.Set(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Set(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && int64(b) != tt.want {
				t.Errorf("Set(%q) = %d, want %d", tt.in, b, tt.want)
			}
		})
	}
}

func TestByteSizeString(t *testing.T) {
	for in, want := range map[int64]string{32 << 20: "32MiB", 1 << 30: "1GiB", 1536: "1536",
		3 << 10: "3KiB", 0: "0"} {
		b := byteSize(in)
		if got := b.String(); got != want {
			t.Errorf("byteSize(%d).String() = %q, want %q", in, got, want)
		}
	}
}

func TestQueueWaitFlag(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"auto", 0, false},
		{"AUTO", 0, false},
		{"off", -1, false},
		{"1.5s", 1500 * time.Millisecond, false},
		{" 250ms ", 250 * time.Millisecond, false},
		{"0s", 0, true},
		{"-1s", 0, true},
		{"soon", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var q queueWait
			err := q.Set(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Set(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && time.Duration(q) != tt.want {
				t.Errorf("Set(%q) = %v, want %v", tt.in, time.Duration(q), tt.want)
			}
		})
	}
	for q, want := range map[queueWait]string{0: "auto", -1: "off",
		queueWait(2 * time.Second): "2s"} {
		if got := q.String(); got != want {
			t.Errorf("queueWait(%d).String() = %q, want %q", q, got, want)
		}
	}
}

func TestPNGLevelFlag(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"adaptive", imaging.PNGAdaptive, false},
		{"Huffman", imaging.PNGHuffmanOnly, false},
		{"1", 1, false},
		{" 9 ", 9, false},
		{"0", 0, true},
		{"10", 0, true},
		{"-2", 0, true},
		{"best", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var l pngLevel
			err := l.Set(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Set(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err == nil && int(l) != tt.want {
				t.Errorf("Set(%q) = %d, want %d", tt.in, l, tt.want)
			}
			if err == nil && (imaging.PNGEncoder{Level: int(l)}).Check() != nil {
				t.Errorf("Set(%q) gave level %d, which the encoder rejects", tt.in, l)
			}
		})
	}
	for l, want := range map[pngLevel]string{imaging.PNGAdaptive: "adaptive",
		imaging.PNGHuffmanOnly: "huffman", 6: "6"} {
		if got := l.String(); got != want {
			t.Errorf("pngLevel(%d).String() = %q, want %q", l, got, want)
		}
	}
}

func TestParseArgsInterspersed(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantPos  []string
		wantOut  string
		wantMask bool
	}{
		{"flags after input", []string{"in.png", "-o", "out.png", "--mask"},
			[]string{"in.png"}, "out.png", true},
		{"flags before input", []string{"-o=out", "in"}, []string{"in"}, "out", false},
		{"flags around inputs", []string{"a", "-mask", "b", "-o", "x"},
			[]string{"a", "b"}, "x", true},
		{"double dash", []string{"-o", "x", "--", "-mask", "a"},
			[]string{"-mask", "a"}, "x", false},
		{"no arguments", nil, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			out := fs.String("o", "", "")
			mask := fs.Bool("mask", false, "")
			pos, err := parseArgs(fs, tt.args)
			if err != nil {
				t.Fatalf("parseArgs: %v", err)
			}
			if !reflect.DeepEqual(pos, tt.wantPos) {
				t.Errorf("positional = %q, want %q", pos, tt.wantPos)
			}
			if *out != tt.wantOut {
				t.Errorf("-o = %q, want %q", *out, tt.wantOut)
			}
			if *mask != tt.wantMask {
				t.Errorf("-mask = %v, want %v", *mask, tt.wantMask)
			}
		})
	}
}

func TestRunExitStatus(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		status int
		stdout string // a substring of the output, stdout and stderr together
	}{
		{"no command", nil, 2, "usage: rmbgd COMMAND"},
		{"help", []string{"help"}, 0, "commands:"},
		{"unknown command", []string{"bogus"}, 2, `unknown command "bogus"`},
		{"serve help", []string{"serve", "-h"}, 0, "-max-body"},
		{"serve bad flag", []string{"serve", "--max-body", "lots"}, 2, "invalid size"},
		{"serve extra argument", []string{"serve", "now"}, 2, `unexpected argument "now"`},
		{"serve pprof on all interfaces", []string{"serve", "--pprof", ":6060"}, 2,
			"not a loopback address"},
		{"serve pprof on a public address", []string{"serve", "--pprof", "192.0.2.1:6060"}, 2,
			"not a loopback address"},
		{"serve unknown profile", []string{"serve", "--profile", "heap"}, 2,
			"want cpu, mem, mutex or block"},
		{"serve bad trusted proxies", []string{"serve", "--trusted-proxies", "10.0.0.0/33"}, 2,
			"invalid CIDR prefix"},
		{"serve negative rate", []string{"serve", "--rate", "-1"}, 2, "-rate -1 is negative"},
		{"serve negative drain delay", []string{"serve", "--drain-delay", "-1s"}, 2,
			"-drain-delay -1s is negative"},
		{"serve negative queue", []string{"serve", "--max-queue", "-3"}, 2,
			"-max-queue -3 is negative"},
		{"bench help", []string{"bench", "-h"}, 0, "gate:"},
		{"bench unknown", []string{"bench", "gpu"}, 2, `unknown benchmark "gpu"`},
		{"bench load help", []string{"bench", "load", "-h"}, 0, "-poisson"},
		{"bench load no image", []string{"bench", "load", "--rate", "1", "--duration", "1s"}, 2,
			"missing --image"},
		{"bench load both loops", []string{"bench", "load", "--image", "x", "--rate", "1",
			"--concurrency", "2"}, 2, "exclude each other"},
		{"bench load remote", []string{"bench", "load", "--image", "main.go", "--url",
			"http://192.0.2.1/v1/remove", "--rate", "1", "--duration", "1s"}, 2,
			"not a loopback address"},
		{"bench gate help", []string{"bench", "gate", "-h"}, 0, "-max-overhead"},
		{"cut help", []string{"cut", "--help"}, 0, "-mask"},
		{"cut no input", []string{"cut", "-o", "x"}, 2, "exactly one input"},
		{"cut no output", []string{"cut", "in.png"}, 2, "-o OUT is required"},
		{"cut bad format", []string{"cut", "a", "-o", "b", "-format", "gif"}, 2, "png or jpeg"},
		{"cut bad color", []string{"cut", "a", "-o", "b", "-bg-color", "red"}, 2, "#rrggbb"},
		{"cut missing input", []string{"cut", filepath.Join(t.TempDir(), "none.png"), "-o",
			"x.png"}, 1, "no such file"},
		{"model no subcommand", []string{"model"}, 2, "missing subcommand"},
		{"model unknown subcommand", []string{"model", "list"}, 2, `unknown subcommand "list"`},
		{"model unknown name", []string{"model", "path", "-name", "u2net"}, 2,
			`unknown model "u2net"`},
		{"model fetch help", []string{"model", "fetch", "-h"}, 0, "AGPL-3.0"},
		{"version", []string{"version"}, 0, "rmbgd "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			status := run(tt.args, &out, &out)
			if status != tt.status {
				t.Errorf("exit status = %d, want %d; output:\n%s", status, tt.status, out.String())
			}
			if !strings.Contains(out.String(), tt.stdout) {
				t.Errorf("output does not contain %q:\n%s", tt.stdout, out.String())
			}
		})
	}
}

func TestCutPlanFolder(t *testing.T) {
	in := t.TempDir()
	for _, name := range []string{"a.png", "b.JPG", "c.webp", "notes.txt", "d.gif"} {
		if err := os.WriteFile(filepath.Join(in, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(in, "sub.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "new", "folder")

	pairs, err := cutPlan(in, cutOptions{out: out})
	if err != nil {
		t.Fatalf("cutPlan: %v", err)
	}
	var got []string
	for _, p := range pairs {
		got = append(got, filepath.Base(p.in)+">"+filepath.Base(p.out))
		if filepath.Dir(p.out) != out {
			t.Errorf("output %s is not in %s", p.out, out)
		}
	}
	want := []string{"a.png>a.png", "b.JPG>b.png", "c.webp>c.png", "d.gif>d.png"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pairs = %q, want %q", got, want)
	}
	if st, err := os.Stat(out); err != nil || !st.IsDir() {
		t.Errorf("output folder was not created: %v", err)
	}

	pairs, err = cutPlan(in, cutOptions{out: out, format: "jpeg"})
	if err != nil {
		t.Fatalf("cutPlan jpeg: %v", err)
	}
	if got := filepath.Base(pairs[0].out); got != "a.jpg" {
		t.Errorf("JPEG output name = %q, want a.jpg", got)
	}
}

func TestCutPlanNameCollision(t *testing.T) {
	in := t.TempDir()
	for _, name := range []string{"photo.png", "photo.jpg"} {
		if err := os.WriteFile(filepath.Join(in, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := cutPlan(in, cutOptions{out: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "photo.jpg and photo.png") {
		t.Errorf("cutPlan error = %v, want one naming both inputs", err)
	}
}

func TestCutPlanRejectsUnsafeOutputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(in, "photo.png")
	if err := os.WriteFile(photo, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target.png")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.png")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, in, out, want string
	}{
		{"symbolic link", photo, link, "not a regular file"},
		{"fifo", photo, fifo, "not a regular file"},
		{"the input itself", photo, photo, "is an input file"},
		{"the input folder", in, in, "is an input file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cutPlan(tt.in, cutOptions{out: tt.out})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("cutPlan(%s, -o %s) error = %v, want one saying %q", tt.in, tt.out,
					err, tt.want)
			}
		})
	}
	if data, err := os.ReadFile(target); err != nil || string(data) != "keep" {
		t.Errorf("the link's target changed: %q, %v", data, err)
	}
}

func TestCutPlanFile(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "cat.jpeg")
	if err := os.WriteFile(in, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opt  cutOptions
		out  string
	}{
		{"file", cutOptions{out: filepath.Join(dir, "x.png")}, filepath.Join(dir, "x.png")},
		{"into folder", cutOptions{out: dir}, filepath.Join(dir, "cat.png")},
		{"into folder mask", cutOptions{out: dir, mask: true, format: "jpeg"},
			filepath.Join(dir, "cat.png")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pairs, err := cutPlan(in, tt.opt)
			if err != nil {
				t.Fatalf("cutPlan: %v", err)
			}
			if len(pairs) != 1 || pairs[0].in != in || pairs[0].out != tt.out {
				t.Errorf("pairs = %v, want [{%s %s}]", pairs, in, tt.out)
			}
		})
	}
}

func TestOutputFormat(t *testing.T) {
	tests := []struct {
		out, format, want string
	}{
		{"a.png", "", "png"},
		{"a.JPG", "", "jpeg"},
		{"a.jpeg", "", "jpeg"},
		{"a.out", "", "png"},
		{"a.png", "jpeg", "jpeg"},
	}
	for _, tt := range tests {
		if got := outputFormat(tt.out, cutOptions{format: tt.format}); got != tt.want {
			t.Errorf("outputFormat(%q, -format %q) = %q, want %q", tt.out, tt.format, got, tt.want)
		}
	}
}

func TestServeHelpListsLimits(t *testing.T) {
	var out bytes.Buffer
	if status := run([]string{"serve", "-h"}, &out, &out); status != 0 {
		t.Fatalf("exit status %d:\n%s", status, out.String())
	}
	for _, flag := range []string{"-listen", "-max-body", "-max-pixels", "-timeout",
		"-header-timeout", "-body-timeout", "-write-timeout", "-idle-timeout", "-concurrency",
		"-max-conns", "-rate", "-burst", "-trusted-proxies", "-drain-delay", "-max-batch",
		"-max-delay", "-max-queue", "-profile", "-profile-dir", "-pprof"} {
		if !strings.Contains(out.String(), "  "+flag+" ") {
			t.Errorf("serve -h does not list %s", flag)
		}
	}
	for _, def := range []string{"(default 30s)", "(default 5s)", "(default 32MiB)",
		"(default 1024)", "(default 10s)"} {
		if !strings.Contains(out.String(), def) {
			t.Errorf("serve -h does not show the default %s", def)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, tt := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:6060", true},
		{"[::1]:6060", true},
		{"localhost:6060", true},
		{"127.1.2.3:0", true},
		{":6060", false},
		{"0.0.0.0:6060", false},
		{"[::]:6060", false},
		{"example.com:6060", false},
		{"127.0.0.1", false},
	} {
		t.Run(tt.addr, func(t *testing.T) {
			if err := checkLoopback(tt.addr); (err == nil) != tt.ok {
				t.Errorf("checkLoopback(%q) = %v, want ok %v", tt.addr, err, tt.ok)
			}
		})
	}
}
