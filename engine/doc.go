// Package engine turns an encoded photo into a mask or cut-out. It owns the
// backends that run the model and the pipeline around them: decoding and
// preprocessing through package imaging, a bounded queue, a batcher that
// feeds the backend, postprocessing and encoding.
//
// The engine does not handle HTTP: the daemon hands it a Job and gets a Result
// or an error (ErrOverloaded, ErrClosed, a context error, or the typed
// errors of package imaging).
//
// # Backends
//
// A Backend runs a compiled plan on a batch tensor of preprocessed images.
// The CPU backend compiles a models.Plan into kernel calls on one arena.
// Each batch size from 1 to MaxBatch has a layout of its own in it, from
// tensor.PlanMemory, made when the backend is built, so a run allocates
// nothing. One run uses every core of the backend's kernel pool, and a
// Backend serves one Run at a time.
//
// # The path of a job
//
//  1. Remove reads the image header and rejects an unsupported format or
//     an image over Job.MaxPixels at once.
//  2. Admission: a job takes a place in the queue, or gets ErrOverloaded
//     at once when MaxQueue jobs are already waiting for inference, or
//     when its expected wait is over MaxQueueWait. The expected wait is
//     the rest of the running batch plus a recent batch time for each
//     full batch ahead. By default the bound is three quarters of a batch
//     time, so that a job accepted under overload still finishes within
//     about 1.75 batch times and the rest get 503 at once instead of
//     timing out later.
//  3. The job waits for a staging place and a worker, then decodes and
//     preprocesses into its own input tensor and puts it on the ready
//     queue.
//  4. One batch worker, the only caller of Backend.Run, takes up to
//     MaxBatch ready items. It waits at most MaxDelay, counted from when
//     the oldest of them was queued. Under load that time has passed long
//     ago, so a batch takes what is ready and runs without waiting.
//  5. Before the run, items whose context has ended (the client left, or
//     the deadline passed) are dropped: they cost no inference, and their
//     Remove returns ctx.Err(). On the CPU backend, a run whose items have
//     all been abandoned stops within one layer.
//  6. Each job takes a worker again to postprocess and encode its output.
//
// Remove returns as soon as its context ends, at any step. Buffers that the
// worker still uses then stay with the worker, which wipes and releases
// them.
//
// # Memory
//
// A decoded image is the largest allocation: a 50-megapixel photo is about
// 150 MB of RGB, and a job holds it from decoding to encoding. Staging
// places, PreWorkers+MaxBatch of them, bound the jobs that hold a decoded
// image and a 12 MiB input tensor but are not yet in a batch, whatever
// MaxQueue is. Queued jobs beyond those hold only their encoded bytes,
// which the caller owns. Batches of more than one image also use a
// contiguous batch tensor of MaxBatch images, wiped after each run.
//
// # Batching on the CPU
//
// The CPU backend runs the images of a batch one after another through each
// convolution, each image split across all cores, so a batch saves only
// some per-layer dispatch. BenchmarkBackendBatch, on a 2-core AMD EPYC with
// AVX-512 and the ISNet fp16 model at 1024², measured the same CPU time per
// image at batch sizes 1, 2 and 4 within 1.5%: 1922, 1895 and 1914 ms in
// one run, 1920, 1930 and 1930 ms in another. Wall time per image moved by
// up to 25% between batch sizes, in either direction from run to run,
// because other processes shared the cores. Copying an image into and out
// of a batch slot costs 1 to 2 ms (BenchmarkBatchStaging), next to about
// 1.5 s of inference, so preprocessing straight into a batch slot would
// not pay for its complexity.
//
// A batch of n makes each of its images wait for all n, and the arena grows
// by 256 MiB per image of MaxBatch (320 MiB at 1, 576 MiB at 2, 1088 MiB at
// 4). So the CPU default is MaxBatch 1 (DefaultCPUMaxBatch), and throughput
// comes from decoding and encoding other jobs beside inference instead:
// with six jobs of a 600×400 photo sent at once, BenchmarkPipelineBusy
// found the backend running for 99.0 to 99.6% of the wall time at MaxBatch
// 1 and 2 alike.
// A larger MaxBatch can pay on a backend that computes a batch's images
// together, as a GPU backend can, and NewPipeline defaults to the
// backend's own MaxBatch.
//
// Other defaults: MaxDelay 2 ms, which is short next to one CPU inference;
// MaxQueue 64; PreWorkers GOMAXPROCS.
//
// # Shutdown
//
// Close stops admitting jobs, lets the admitted ones finish or fail with
// their context's error, then stops the worker and closes the backend.
package engine
