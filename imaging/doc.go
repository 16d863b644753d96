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
//  5. The cut-out is RGBA with straight alpha equal to the mask, and
//     all four bytes 0 where the mask is 0.
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
// profile to sRGB with it, and this package passes the samples on as
// stored (see Colour profiles); sharp converts CMYK with its built-in CMYK
// profile, and this package without one; sharp decodes
// large JPEGs at 1/2, 1/4 or 1/8 scale inside libjpeg when the shrink to the
// model's side is at least 3, 5 or 9, and this package always decodes at
// full size (a mean difference of about 0.4 levels in the input). sharp
// also resizes 16-bit images before it reduces them to 8 bits, the other
// way round from here.
//
// # Decoding
//
// The format comes from the magic bytes alone; a declared content type or
// file name is at most a hint to the caller. Data that is not PNG, JPEG,
// GIF or WebP gets an [UnsupportedFormatError] naming what it is, when
// that is cheap to tell (HEIC, AVIF, TIFF, BMP, ICO, JPEG XL, JPEG 2000,
// PDF, SVG, HTML, ZIP, MP4, text and more), else "unknown". The size is
// read from the header and checked against the pixel limit before any
// pixel buffer exists ([TooManyPixelsError]).
//
//   - PNG: every colour type and bit depth (1, 2, 4, 8, 16), tRNS on gray,
//     RGB and palette images, interlaced or not (image/png). An APNG
//     decodes to its default image.
//   - JPEG: baseline and progressive, gray, YCbCr, RGB (Adobe transform 0
//     or component ids R, G, B), CMYK and YCCK. image/jpeg reads Adobe
//     CMYK as 255 − stored sample, which is the ink amount since Adobe
//     writers store inverted values, and YCCK likewise; a 4-component JPEG
//     without an Adobe segment, which image/jpeg rejects, is read as plain
//     ink amounts, as libjpeg does. CMYK becomes RGB without a profile: R =
//     (255−C)(255−K)/255. Arithmetic coding, lossless, hierarchical and
//     12-bit JPEGs are unsupported formats ("jpeg-arithmetic" and so on).
//   - GIF: the first frame. When it reaches past the logical screen, the
//     canvas grows to hold it, as browsers and libvips do; pixels outside
//     the frame are transparent.
//   - WebP: lossy, lossless and lossy with alpha (golang.org/x/image/webp),
//     and the first frame of an animated file, on a transparent canvas.
//
// A file cut short or corrupt gives a [DecodeError], never a padded
// picture: the decoders return errors for data that ends early, and a
// JPEG whose scans do not cover every coefficient of every component (a
// progressive file cut at a scan boundary, or a component's scan missing)
// is rejected too, since image/jpeg would fill the rest with zeros. A JPEG
// whose data ends after its last scan without the EOI marker is accepted.
// A panic inside a decoder is recovered as a DecodeError.
//
// The build tag turbojpeg decodes JPEG with libjpeg-turbo instead, linked
// statically from Debian's libturbojpeg0-dev, with the same checks and
// results (its pixels are libjpeg-turbo's exactly, as sharp's are). On a
// 12 MP photo on the development machine (BenchmarkDecodePhoto; figures
// in bench/RESULTS.md) it decodes 6 to 7 times faster per CPU second than
// image/jpeg. For a 2 MP JPEG that is 7 ms instead of 36, the largest
// part of the daemon's work around the model, so the Makefile builds with
// the tag wherever the library and a C compiler are installed. Without
// them the build is pure Go. [JPEGDecoder] names the decoder in use.
//
// # Colour profiles
//
// An embedded ICC profile of an RGB colour space (JPEG APP2 ICC_PROFILE
// segments, reassembled in order; PNG iCCP; WebP ICCP) is kept in
// [Image].ICC unchanged and written into the cut-out: an iCCP chunk in
// PNG, APP2 segments in JPEG. The cut-out's samples are the input's, so
// the input's profile still describes them, and carrying it is exact where
// converting to sRGB would need a colour management library. A gray
// profile cannot go into an RGB cut-out, because PNG forbids a profile
// whose colour space differs from the image's. Its tone curve (a gamma, a
// table or a parametric curve) is applied instead, which converts the gray
// samples to sRGB exactly, and the cut-out carries no profile. A profile
// that cannot be read that way is dropped.
// TODO: CMYK profiles are dropped, and CMYK samples are converted with the
// plain formula of Adobe's APP14 convention, because converting through a
// print profile's lookup tables needs a colour management library.
// The mask, which is data rather than colour, carries none.
//
// # Encoding
//
// [PNGEncoder] writes 8-bit PNG with klauspost/compress: by default
// Huffman-only coding of Paeth-filtered rows, switching to LZ77 (level 1)
// where sampled probes find it at least a tenth smaller. See its
// documentation for the numbers. Cut-outs have straight alpha and no
// orientation tag; JPEG output composites over a background colour.
//
// # Memory
//
// Image buffers come from a pool and are zeroed when returned to it by
// [Image.Release]; scratch buffers are zeroed before reuse, and the
// decoders' own buffers are zeroed once the pixels have been copied out of
// them, also when the copy fails. A PNG's image data and a GIF's first
// frame are decoded and checked before image/png or image/gif allocates
// the picture (pngcheck.go, gifcheck.go), so a PNG or GIF that is cut
// short or corrupt leaves no half-decoded picture behind. image/jpeg and
// golang.org/x/image/webp allocate theirs before they read the data and
// return nothing when it fails partway, so the part they decoded stays in
// memory that the garbage collector frees without zeroing. image/jpeg
// leaves a progressive JPEG's coefficients there too. With libjpeg-turbo,
// JPEG pixels go straight into a pooled buffer, but libjpeg-turbo's
// working memory (rows of each colour
// component, and the coefficients of a JPEG with several scans) is
// released with free(), which does not zero it either. The pooled PNG
// compressors have their input window, history, queued tokens and pending
// output zeroed before they go back to their pool (see flatewipe.go). No
// function in this package writes a file.
//
// All functions are safe for concurrent use; an [Image] must not be used
// by several goroutines while one of them releases it.
package imaging
