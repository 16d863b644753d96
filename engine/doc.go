// Package engine turns an encoded photo into a mask or cut-out: it owns the
// backends that run the model and the pipeline around them (decode and
// preprocess through package imaging, inference on a backend, postprocess
// and encode).
//
// A Backend runs a compiled plan on a batch tensor of preprocessed images.
// The CPU backend compiles a models.Plan into kernel calls on one arena whose
// layout comes from tensor.PlanMemory, so a run allocates nothing. One run
// uses every core of its kernel pool, so the pipeline lets one request at a
// time into the backend and runs decoding, resizing and encoding of other
// requests beside it.
//
// The engine never sees HTTP: the daemon hands it a Job and gets a Result.
package engine
