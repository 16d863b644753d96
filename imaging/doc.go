// Package imaging turns encoded images into the model's input tensor and the
// model's output back into masks and cut-outs. It owns decoding, EXIF
// orientation, resampling, pre- and post-processing and the PNG and JPEG
// encoders. It works on bytes, 8-bit pixels and float32 planes only. It does
// not handle HTTP, and it depends on the engine only through the planar
// layout of one image's input and output.
//
// # The reference pipeline
//
// The masks rmbgd produces are checked against masks made by ONNX Runtime
// with sharp 0.34.5 (libvips 8.17.3) doing the image work, so this package
// reproduces what sharp does for
//
//	sharp(file).rotate().removeAlpha().resize(1024, 1024, {fit: "fill", kernel: "lanczos3"})
//
// and for the resize of the 8-bit mask back to the image's size:
//
//  1. Decode and apply the EXIF orientation (JPEG APP1, PNG eXIf, WebP
//     EXIF); the displayed size is the output size. WebP pixels are
//     libwebp's, bit for bit; JPEG pixels get libjpeg-turbo's colour
//     conversion and chroma upsampling and differ from its output only by
//     the IDCT's rounding (about 0.03 levels on average).
//  2. Convert to 8-bit RGB: gray is replicated, 16-bit samples keep their
//     high byte (libvips shifts right by 8, so 0x8080 becomes 128). Alpha is
//     kept aside.
//  3. Resize to side×side ignoring the aspect ratio (see below), and write
//     x/255 − 0.5 per channel, planar CHW float32.
//  4. After inference, min–max normalize the side×side output to 0..255,
//     rounding half up (a flat output gives 0). Resize that mask to the
//     image's size and cap it by the image's alpha where the image has one.
//  5. The cut-out is RGBA with straight alpha equal to the mask.
//
// # Resampling
//
// "Lanczos-3" means what libvips's vips_resize does with that kernel, which
// the tests of this package check byte for byte against sharp:
//
//   - Shrinking an axis by a factor s: when s ≥ 4, a box filter first
//     shrinks by ⌊s/2⌋ (libvips's reducing gap of 2), then a Lanczos-3
//     kernel widened by the remaining factor (antialiased), centre
//     convention: output o samples input (o+0.5)·s − 0.5. The kernel phase
//     is quantized to 1/64 pixel, weights are 12-bit fixed point, the edge
//     is extended by copying, and results are rounded and clamped to 8 bits.
//     The vertical pass runs first, with 8-bit rounding in between.
//   - Enlarging either axis: libvips does not use Lanczos there but a 2-D
//     Catmull-Rom (bicubic) affine transform with an input displacement of
//     half a pixel, so output o samples input o/a − 0.5 for a scale a. An
//     axis with scale 1 still gets the half-pixel shift when the other axis
//     is enlarged. Intermediate row sums are rounded but not clamped.
//   - When the image has alpha, RGB is premultiplied (float32, truncated to
//     8 bits) before the resize, alpha is resized with it, and RGB is
//     unpremultiplied after, as sharp does before it drops the alpha.
//   - sharp resizes the stored image and orients the result, so Preprocess
//     runs the passes in stored coordinates over the displayed pixels: for
//     orientations 5 to 8 the stored vertical pass is the displayed
//     horizontal one, and mirrored axes take their taps reversed.
//
// Known departures from sharp, each worth well under a level of the mask
// on the reference photos: sharp converts images with an embedded ICC
// profile to sRGB with it, and this package ignores profiles; sharp decodes
// large JPEGs at 1/2, 1/4 or 1/8 scale inside libjpeg when the shrink to the
// model's side is at least 3, 5 or 9, and this package always decodes at
// full size (a mean difference of about 0.4 levels in the input). sharp
// also resizes 16-bit images before it reduces them to 8 bits, the other
// way round from here.
//
// # Memory
//
// Image buffers come from a pool and are zeroed when returned to it by
// [Image.Release]; scratch buffers are zeroed before reuse, and the
// decoders' own buffers are zeroed once the pixels have been copied out of
// them. The PNG compressors are pooled with their last window (see
// encode.go). No function in this package writes a file.
//
// All functions are safe for concurrent use; an [Image] must not be used
// by several goroutines while one of them releases it.
package imaging
