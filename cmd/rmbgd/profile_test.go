package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestProfileWrittenAtStop(t *testing.T) {
	for _, mode := range []string{"cpu", "mem", "mutex", "block"} {
		t.Run(mode, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "profiles")
			opt := profileOptions{mode: mode, dir: dir}
			if err := opt.check(); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			stop, err := opt.start(slog.New(slog.NewJSONHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			burn := 0
			for i := range 1_000_000 {
				burn += i % 7
			}
			stop()

			file := filepath.Join(dir, profileModes[mode].file)
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("profile file: %v", err)
			}
			// A pprof file is a gzip-compressed protocol buffer; a complete
			// one decompresses without error.
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s is not gzip (%d bytes): %v", file, len(raw), err)
			}
			if _, err := io.Copy(io.Discard, zr); err != nil {
				t.Errorf("%s is truncated: %v", file, err)
			}
			if !strings.Contains(logs.String(), `"msg":"profile written"`) {
				t.Errorf("no profile written line in the log:\n%s", logs.String())
			}
		})
	}
}

func TestProfileUnwritableFolder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	opt := profileOptions{mode: "cpu", dir: filepath.Join(file, "sub")}
	if _, err := opt.start(slog.New(slog.NewJSONHandler(io.Discard, nil))); err == nil {
		t.Error("start with a folder under a file succeeded, want an error")
	}
}

func TestPprofListener(t *testing.T) {
	opt := profileOptions{pprof: "127.0.0.1:0"}
	if err := opt.check(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	stop, err := opt.start(slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	addr := logField(t, logs.String(), "pprof listening", "address")
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Errorf("/debug/pprof/cmdline: status %d, %d bytes", resp.StatusCode, len(body))
	}
	resp, err = http.Get("http://" + addr + "/v1/remove")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the pprof listener serves /v1/remove: status %d, want 404", resp.StatusCode)
	}

	stop()
	if _, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Error("the pprof listener still serves after stop")
	}
}

// logField returns the string value of key in the first JSON log line
// whose msg is msg.
func logField(t *testing.T, logs, msg, key string) string {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != msg {
			continue
		}
		if v, ok := rec[key].(string); ok {
			return v
		}
	}
	t.Fatalf("no %q line with %s in the log:\n%s", msg, key, logs)
	return ""
}
