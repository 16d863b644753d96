package models

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// CacheEnv names the environment variable that points at a folder of
// verified model copies, checked before Dir by Locate and before npm by
// Fetch.
const CacheEnv = "RMBGD_MODEL_CACHE"

// fixHint is the remedy every missing- or corrupt-model error ends with.
const fixHint = `run "make model" or "rmbgd model fetch"`

// Errors Locate wraps, so callers can tell the cases apart with errors.Is.
var (
	// ErrNotInstalled means no file of the model's name exists.
	ErrNotInstalled = errors.New("model not installed")
	// ErrCorrupt means a file exists but its size or SHA-256 is wrong.
	ErrCorrupt = errors.New("model file corrupt")
)

// Locate returns the path of a verified copy of spec: the one in the folder
// $RMBGD_MODEL_CACHE names when that copy verifies, else the one in Dir().
// A file verifies when its size and SHA-256 match spec. Locate hashes the
// whole file on every call rather than trusting a cached result. For ISNet
// fp16 (88 MB) that took 65 ms on a 2-core x86-64 with SHA extensions, less
// than reading the file for LoadPlan.
//
// A missing model is an error wrapping ErrNotInstalled, a wrong one an error
// wrapping ErrCorrupt; both name the fix. Locate writes nothing.
func Locate(spec Spec) (string, error) {
	if cache := os.Getenv(CacheEnv); cache != "" {
		path := filepath.Join(cache, spec.File)
		if verifyFile(path, spec) == nil {
			return path, nil
		}
	}
	path := filepath.Join(Dir(), spec.File)
	if err := verifyFile(path, spec); err != nil {
		return "", err
	}
	return path, nil
}

// verifyFile checks the size and SHA-256 of the file at path against spec.
func verifyFile(path string, spec Spec) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s not found in %s: %s",
			ErrNotInstalled, spec.File, filepath.Dir(path), fixHint)
	}
	if err != nil {
		return fmt.Errorf("open model: %w", err)
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat model: %w", err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is not a regular file: %s", ErrCorrupt, path, fixHint)
	}
	if info.Size() != spec.Size {
		return fmt.Errorf("%w: %s has %d bytes, expected %d: %s",
			ErrCorrupt, path, info.Size(), spec.Size, fixHint)
	}
	sum, err := hashReader(f)
	if err != nil {
		return fmt.Errorf("read model %s: %w", path, err)
	}
	if !strings.EqualFold(sum, spec.SHA256) {
		return fmt.Errorf("%w: %s has sha256 %s, expected %s: %s",
			ErrCorrupt, path, sum, spec.SHA256, fixHint)
	}
	return nil
}

func hashReader(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
