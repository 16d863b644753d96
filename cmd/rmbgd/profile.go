package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"time"

	"github.com/pkg/profile"
)

// profileModes maps each --profile value to its pkg/profile option and the
// file that option writes.
var profileModes = map[string]struct {
	option func(*profile.Profile)
	file   string
}{
	"cpu":   {profile.CPUProfile, "cpu.pprof"},
	"mem":   {profile.MemProfile, "mem.pprof"},
	"mutex": {profile.MutexProfile, "mutex.pprof"},
	"block": {profile.BlockProfile, "block.pprof"},
}

// profileOptions are the opt-in profiling flags of serve: a profile of the
// whole run written at shutdown, and a pprof HTTP listener on a loopback
// address. Profiles hold stacks, counts and sizes, never request data.
type profileOptions struct {
	mode  string // "" (off), "cpu", "mem", "mutex" or "block"
	dir   string
	pprof string // listen address of the pprof listener, "" for none
}

func (p *profileOptions) addFlags(fs *flag.FlagSet) {
	fs.StringVar(&p.mode, "profile", "",
		"profile the whole run and write it at shutdown: cpu, mem, mutex or block (default off)")
	fs.StringVar(&p.dir, "profile-dir", ".", "`folder` --profile writes its file to")
	fs.StringVar(&p.pprof, "pprof", "",
		"serve net/http/pprof on this loopback `address`, such as 127.0.0.1:6060 (default off)")
}

// check validates the flags before anything starts.
func (p *profileOptions) check() error {
	if _, ok := profileModes[p.mode]; p.mode != "" && !ok {
		return usagef("-profile %q: want cpu, mem, mutex or block", p.mode)
	}
	if p.pprof != "" {
		if err := checkLoopback(p.pprof); err != nil {
			return usagef("-pprof: %v", err)
		}
	}
	return nil
}

// checkLoopback accepts host:port addresses whose host is a loopback IP or
// "localhost". The profiler shows the process's stacks and can be made to
// burn CPU, so it must not be reachable from other machines.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address; use 127.0.0.1:PORT or [::1]:PORT "+
			"and reach it through an SSH tunnel", addr)
	}
	return nil
}

// start starts what the flags ask for and returns the function that stops
// it, which writes the profile file. Only one profile may run at a time:
// pkg/profile ends the process when a second one starts.
func (p *profileOptions) start(log *slog.Logger) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if p.pprof != "" {
		closePprof, err := startPprof(p.pprof, log)
		if err != nil {
			return nil, err
		}
		stops = append(stops, closePprof)
	}
	if p.mode == "" {
		return stop, nil
	}

	mode := profileModes[p.mode]
	file := filepath.Join(p.dir, mode.file)
	// pkg/profile ends the process with log.Fatal when it cannot create
	// the file, so create it first and return that error instead.
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		stop()
		return nil, fmt.Errorf("profile folder: %w", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		stop()
		return nil, fmt.Errorf("profile file: %w", err)
	}
	f.Close()

	prof := profile.Start(mode.option, profile.ProfilePath(p.dir), profile.NoShutdownHook,
		profile.Quiet)
	log.Info("profiling", "mode", p.mode, "file", file)
	stops = append(stops, func() {
		prof.Stop()
		log.Info("profile written", "mode", p.mode, "file", file)
	})
	return stop, nil
}

// startPprof serves the net/http/pprof handlers on addr, on a mux of its
// own so that nothing else registered on http.DefaultServeMux is exposed.
// It returns the function that closes the listener.
func startPprof(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write timeout: a CPU profile or trace streams for its whole
	// ?seconds= duration.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof listener failed", "error", err)
		}
	}()
	log.Info("pprof listening", "address", ln.Addr().String())
	return func() { srv.Close() }, nil
}
