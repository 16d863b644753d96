// Package bench measures rmbgd against its peers on the machine it runs on.
//
// The CPU benchmark starts the real daemon on a loopback port, sends one
// photo as the web client does (base64 in JSON) several times in sequence,
// and reports the median end-to-end latency next to ONNX Runtime's median
// inference time for the same model, measured by bench/ort/ort.js in the
// same make run. Only the ratio is meaningful on a shared machine.
package bench
