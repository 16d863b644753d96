// Package bench measures rmbgd against its peers on the machine it runs on.
//
// The CPU benchmark starts the real daemon on a loopback port and sends one
// photo as the web client does (base64 in JSON) several times in sequence.
// It reports the end-to-end latency next to ONNX Runtime's inference time
// for the same model, which bench/ort/ort.js measures before and after
// rmbgd's requests in the same command. Only the ratio is meaningful on a
// shared machine.
//
// RunLoad loads a running daemon in an open loop or a closed one. The open
// loop sends at scheduled times, evenly spaced or as a Poisson process, and
// counts each latency from its scheduled time, so that a slow server cannot
// slow the client down and hide its own delay. The closed loop runs N
// clients that each send in sequence. RunGate
// starts the daemon binary and checks that its overhead over the engine's
// time (decode, inference, mask, encode) stays within a fraction of that
// time.
package bench
