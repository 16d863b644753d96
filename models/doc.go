// Package models owns the model files and their translation into an
// execution plan. It lists the models that exist (Spec, Lookup), finds
// where they are installed (Home, Dir, Locate), fetches and verifies them
// (Fetch, FetchTarball), and folds an ONNX model into a Plan (LoadPlan,
// ParsePlan, LoadSkeleton). It never runs a plan: the engine compiles and
// executes Plans, and this package must not depend on it or on any kernel.
//
// # Model files
//
// The models come from the npm package @imgly/background-removal-data
// (AGPL-3.0, fetched at set-up and never bundled). Its dist/resources.json
// maps each resource to chunks named by their SHA-256 with byte offsets;
// Fetch runs "npm pack", reassembles the chunks in order, checks every chunk
// hash and length, the total size and the file's SHA-256, and renames the
// result into place, so a model file that exists is complete. When the
// environment variable RMBGD_MODEL_CACHE names a folder holding a verified
// copy, Fetch links or copies that copy instead of running npm.
//
// # ONNX import
//
// The importer decodes the protobuf wire format itself, for the subset of
// onnx.proto a model needs, and accepts default-domain opsets 11 to 21. The
// graph's nodes are sorted topologically (files need not store them in
// order), then folded for one input size:
//
//   - Shape, Slice, Concat on integers, Constant and Cast on constants are
//     evaluated at import, with the batch folded to 1. That is sound for
//     every batch size because folded integers can only reach the sizes of a
//     Resize, which must keep the batch and channel dimensions.
//   - Cast between float16 and float32 on an activation is an identity:
//     plans compute in float32, so an fp16 model runs as its fp32 twin.
//   - Steps that do not contribute to the first graph output are dropped.
//   - A Conv whose output is read only by a Relu absorbs it (ConvAttrs.ReLU).
//
// What remains is Conv (group 1), MaxPool (no padding), Resize (linear,
// half_pixel), Concat on channels, Add of equal shapes, Sigmoid and Relu.
// Anything else (another operator, attribute value, data type, broadcast)
// is rejected at load with an error naming the node and its op_type.
//
// Plans are folded for one input side because a traced graph may bake sizes
// into constants. ISNet's export does: its Resize targets are constants for
// 1024×1024 inputs, so folding it for another side fails at the first Concat
// whose inputs then disagree in size.
package models
