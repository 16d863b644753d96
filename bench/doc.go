// Package bench measures rmbgd against its peers on the machine it runs on.
//
// The CPU benchmark starts the real daemon on a loopback port and sends one
// photo as the web client does (base64 in JSON) several times in sequence.
// It reports the end-to-end latency next to ONNX Runtime's inference time
// for the same model, which bench/ort/ort.js measures before and after
// rmbgd's requests in the same command. Only the ratio is meaningful on a
// shared machine.
package bench
