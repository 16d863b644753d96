package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/rmbgd/rmbgd/daemon"
	"github.com/rmbgd/rmbgd/engine"
	"github.com/rmbgd/rmbgd/imaging"
	"github.com/rmbgd/rmbgd/models"
)

// pipeline is the engine interface that serve and cut use.
type pipeline interface {
	daemon.Remover
	Warm(ctx context.Context) error
	Close() error
}

// openEngine loads the model at path into a CPU pipeline with threads
// inference threads (0: one per core) that encodes PNG with png and queues
// and batches jobs as batch sets.
func openEngine(path string, threads int, png imaging.PNGEncoder, batch engine.BatchConfig,
	log *slog.Logger) (pipeline, error) {
	p, err := engine.NewCPU(engine.CPUConfig{ModelPath: path, Threads: threads, Logger: log,
		PNG: png, BatchConfig: batch})
	if err != nil {
		return nil, fmt.Errorf("load engine: %w", err)
	}
	return p, nil
}

// closeEngine closes eng and logs a failure, which only matters to the
// log because the process is about to exit.
func closeEngine(eng pipeline, log *slog.Logger) {
	if err := eng.Close(); err != nil {
		log.Warn("closing the engine failed", "error", err)
	}
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
