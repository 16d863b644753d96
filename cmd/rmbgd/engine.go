package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/rmbgd/rmbgd/daemon"
	"github.com/rmbgd/rmbgd/models"
)

// pipeline is the engine interface that serve and cut use.
type pipeline interface {
	daemon.Remover
	Warm(ctx context.Context) error
	Close()
}

// openEngine loads the model at path into a CPU pipeline with threads
// inference threads (0: one per core).
func openEngine(path string, threads int, log *slog.Logger) (pipeline, error) {
	// TODO: build the CPU pipeline once package engine provides it.
	return nil, errors.New("load engine: this build has no CPU pipeline")
}

// resolveModel returns path when it names a file, or the installed,
// verified default model when path is empty.
func resolveModel(path string) (string, error) {
	if path == "" {
		return models.Locate(models.Default)
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("model: %w", err)
	}
	if info.IsDir() {
		return "", fmt.Errorf("model: %s is a folder, want an ONNX file", path)
	}
	return path, nil
}
