package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// freePort returns a loopback port that was free a moment ago. Prometheus
// 2.42 cannot listen on port 0 and report the port it got.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// promQuery runs an instant query against the Prometheus HTTP API and
// returns the values of its result vector.
func promQuery(base, query string) ([]string, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var answer struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, fmt.Errorf("query %s: %w", query, err)
	}
	if answer.Status != "success" {
		return nil, fmt.Errorf("query %s: status %q", query, answer.Status)
	}
	var values []string
	for _, r := range answer.Data.Result {
		v, _ := r.Value[1].(string)
		values = append(values, v)
	}
	return values, nil
}

func TestPrometheusScrape(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("RMBGD_REQUIRE_PROMETHEUS") == "1" {
			t.Fatal("prometheus is not installed (apt-get install prometheus) and " +
				"RMBGD_REQUIRE_PROMETHEUS=1")
		}
		t.Skip("prometheus is not installed; apt-get install prometheus to run this test")
	}
	ts := startServer(t, Config{}, &pngRemover{})
	send(t, "POST", ts.url+"/v1/remove", "image/png", testPNG(t, 8, 8), nil)

	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	err = os.WriteFile(config, []byte(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: rmbgd
    static_configs:
      - targets: ["`+ts.addr+`"]
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+config,
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+listen)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait() // killed by the cancel
	})

	base := "http://" + listen
	deadline := time.Now().Add(90 * time.Second)
	var up []string
	for time.Now().Before(deadline) {
		up, err = promQuery(base, `up{job="rmbgd"} == 1`)
		if err == nil && len(up) == 1 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(up) != 1 {
		t.Fatalf("prometheus did not scrape rmbgd: up = %v, last error %v; its log:\n%s",
			up, err, out.String())
	}
	backend, err := promQuery(base, `rmbgd_backend_info{backend="cpu"}`)
	if err != nil || len(backend) != 1 || backend[0] != "1" {
		t.Errorf("rmbgd_backend_info = %v, %v; want one series of value 1", backend, err)
	}
	removed, err := promQuery(base,
		`rmbgd_http_requests_total{job="rmbgd",route="/v1/remove",code="200"}`)
	if err != nil || len(removed) != 1 || removed[0] != "1" {
		t.Errorf("rmbgd_http_requests_total of the removal = %v, %v; want 1", removed, err)
	}
}
