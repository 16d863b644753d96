package daemon

import (
	"bufio"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rmbgd/rmbgd/imaging/imagingtest"
)

// mutationDaemonEnv makes TestMutationDaemonProcess serve instead of skip:
// TestCorpusMutations sets it when it runs this test binary again as the
// daemon process.
const mutationDaemonEnv = "RMBGD_MUTATION_DAEMON"

// TestMutationDaemonProcess is the daemon process of TestCorpusMutations.
// It serves on a loopback port with the real decoding pipeline and
// luminanceBackend, prints "listening URL PID", and stops when its standard
// input closes.
func TestMutationDaemonProcess(t *testing.T) {
	if os.Getenv(mutationDaemonEnv) != "1" {
		t.Skip("runs only as the daemon process of TestCorpusMutations")
	}
	url := corpusServer(t, Config{}, newDecodeOnlyPipeline(t))
	fmt.Printf("listening %s %d\n", url, os.Getpid())
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// mutationDaemon is the daemon process of TestCorpusMutations.
type mutationDaemon struct {
	url    string
	pid    int
	exited chan error // receives the process's exit once
}

// startMutationDaemon runs this test binary again as a daemon process and
// waits until it serves.
func startMutationDaemon(t *testing.T) *mutationDaemon {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMutationDaemonProcess$", "-test.v")
	cmd.Env = append(os.Environ(), mutationDaemonEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the daemon process: %v", err)
	}
	d := &mutationDaemon{exited: make(chan error, 1)}

	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if _, err := fmt.Sscanf(lines.Text(), "listening %s %d", &d.url, &d.pid); err == nil {
			break
		}
	}
	if d.url == "" {
		_ = cmd.Process.Kill()
		t.Fatalf("the daemon process exited before it served: %v", cmd.Wait())
	}
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		d.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-d.exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the daemon process did not stop when its input closed")
		}
	})
	if d.pid != cmd.Process.Pid {
		t.Fatalf("the daemon reports PID %d, its process is %d", d.pid, cmd.Process.Pid)
	}
	return d
}

// checkAlive fails the test when the daemon process has exited.
func (d *mutationDaemon) checkAlive(t *testing.T, after string) {
	t.Helper()
	select {
	case err := <-d.exited:
		d.exited <- err
		t.Fatalf("the daemon process %d exited after %s: %v", d.pid, after, err)
	default:
	}
}

// TestCorpusMutations sends 300 mutations of small JPEG, PNG and GIF files,
// from a fixed seed, to a daemon in a process of its own, with the real
// decoding pipeline and luminanceBackend in place of the model. Every
// response must be 200 or 4xx, the process must never exit (so its PID
// never changes), and it must still serve a valid request afterwards. A
// daemon process made to exit 50 ms after it starts fails the test at the
// next request, with the connection reset.
func TestCorpusMutations(t *testing.T) {
	d := startMutationDaemon(t)
	seeds := [][]byte{
		goJPEG(t, 40, 24),
		progressive(halvesJPEG(40, 24, -1, []uint8{76, 85, 255}, []uint8{113, 115, 69})).Encode(),
		halvesJPEG(40, 24, 2, []uint8{179, 171, 0, 255}, []uint8{98, 91, 104, 239}).Encode(),
		halvesPNG(imagingtest.RGBA, 8, 40, 24, []uint16{1, 2, 3, 4}, []uint16{9, 8, 7, 255}).Encode(),
		halvesPNG(imagingtest.Gray, 2, 40, 24, []uint16{1}, []uint16{3}).Encode(),
		paletteGIF(t, 40, 24),
		imagingtest.GIF(40, 24, 8, 8, imagingtest.FlatFrame(image.Rect(4, 4, 40, 24), rgba(red))),
	}
	rng := rand.New(rand.NewPCG(20261204, 1))
	counts := map[int]int{}
	for i := range 300 {
		data := imagingtest.Mutate(seeds[i%len(seeds)], rng)
		resp, err := corpusClient.Post(d.url+"/v1/remove", "application/octet-stream",
			strings.NewReader(string(data)))
		if err != nil {
			d.checkAlive(t, fmt.Sprintf("mutation %d", i))
			t.Fatalf("mutation %d (%d bytes of seed %d): %v", i, len(data), i%len(seeds), err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("mutation %d: read the response: %v", i, err)
		}
		counts[resp.StatusCode]++
		if resp.StatusCode != http.StatusOK &&
			(resp.StatusCode < 400 || resp.StatusCode >= 500) {
			t.Fatalf("mutation %d (%d bytes of seed %d): status %d, body %s", i, len(data),
				i%len(seeds), resp.StatusCode, body)
		}
		d.checkAlive(t, fmt.Sprintf("mutation %d", i))
	}
	t.Logf("statuses of 300 mutations: %v", counts)

	status, _, body := postImage(t, d.url+"/v1/remove", seeds[0])
	if status != http.StatusOK {
		t.Fatalf("after the mutations a valid JPEG gets %d: %s", status, body)
	}
	resp, err := corpusClient.Get(d.url + "/healthz")
	if err != nil {
		t.Fatalf("healthz after the mutations: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz after the mutations: %d", resp.StatusCode)
	}
	d.checkAlive(t, "the mutations")
}
