// Command rmbgd is the background-removal daemon and its command-line
// tools, one binary with subcommands:
//
//	rmbgd serve         serve the HTTP API
//	rmbgd cut IN -o OUT cut out the foreground of image files, without HTTP
//	rmbgd model fetch   download and verify a model
//	rmbgd model path    print the path of the installed model
//	rmbgd bench cpu     measure end-to-end latency on the CPU backend
//	rmbgd bench load    load a running daemon and report latency percentiles
//	rmbgd bench gate    fail when the daemon's overhead exceeds 10% of inference
//	rmbgd version       print the version
//
// Every subcommand prints its flags with -h. Exit status: 0 on success, 1
// on failure, 2 on invalid usage.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// usageError is an error in the command line; run exits 2 for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "serve the HTTP API", runServe},
		{"cut", "cut out the foreground of image files, without HTTP", runCut},
		{"model", "download a model or print its path (fetch, path)", runModel},
		{"bench", "benchmarks: cpu (against ONNX Runtime), load, gate", runBench},
		{"version", "print the version", runVersion},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "-h" || name == "--help" || name == "help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		var usageErr *usageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &usageErr):
			fmt.Fprintf(stderr, "rmbgd %s: %v\n", name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "rmbgd %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "rmbgd: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: rmbgd COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "rmbgd COMMAND -h" for the flags of a command.`)
}
