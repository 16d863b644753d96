// ort.js: ONNX Runtime as rmbgd's reference engine.
//
//   node ort.js golden MODEL IMAGE IN.f32 OUT.f32 [--threads N]
//   node ort.js bench  MODEL [--runs K] [--threads N]
//
// golden: turns IMAGE into ISNet's input tensor with sharp (EXIF orientation,
//         alpha dropped, Lanczos-3 to 1024x1024, x/255 - 0.5, planar) and
//         writes it to IN.f32; runs the model and writes its first output to
//         OUT.f32. Both are raw little-endian float32. rmbgd's engine test
//         feeds IN.f32 to its own engine and compares with OUT.f32.
// bench:  times inference alone on a fixed pseudo-random input and prints one
//         JSON line with milliseconds (min, median, every run).
'use strict';

const fs = require('fs');
const os = require('os');
const ort = require('onnxruntime-node');
const sharp = require('sharp');

const SIDE = 1024;

function flag(args, name, fallback) {
	const i = args.indexOf(name);
	if (i < 0) return fallback;
	const v = args[i + 1];
	args.splice(i, 2);
	return v;
}

function session(model, threads) {
	return ort.InferenceSession.create(model, {
		intraOpNumThreads: threads,
		interOpNumThreads: 1,
		graphOptimizationLevel: 'all',
		executionMode: 'sequential',
	});
}

async function infer(s, data, dims) {
	const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', data, dims) };
	const out = await s.run(feeds, [s.outputNames[0]]);
	return out[s.outputNames[0]];
}

function writeF32(path, data) {
	fs.writeFileSync(path, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

async function golden(args, threads) {
	const [model, image, inPath, outPath] = args;
	const rgb = await sharp(image).rotate().removeAlpha().toColourspace('srgb')
		.resize(SIDE, SIDE, { fit: 'fill', kernel: 'lanczos3' })
		.raw().toBuffer();
	const plane = SIDE * SIDE;
	const x = new Float32Array(3 * plane);
	for (let i = 0; i < plane; i++) {
		for (let c = 0; c < 3; c++) x[c * plane + i] = rgb[3 * i + c] / 255 - 0.5;
	}
	const s = await session(model, threads);
	const t0 = process.hrtime.bigint();
	const y = await infer(s, x, [1, 3, SIDE, SIDE]);
	const ms = Number(process.hrtime.bigint() - t0) / 1e6;
	writeF32(inPath, x);
	writeF32(outPath, y.data);
	console.log(JSON.stringify({ image, dims: y.dims, ms }));
}

async function bench(args, threads) {
	const [model] = args;
	const runs = Number(flag(args, '--runs', '5'));
	const x = new Float32Array(3 * SIDE * SIDE);
	let seed = 1;
	for (let i = 0; i < x.length; i++) {
		seed = (seed * 1103515245 + 12345) >>> 0;
		x[i] = (seed >>> 8) / (1 << 24) - 0.5;
	}
	const s = await session(model, threads);
	await infer(s, x, [1, 3, SIDE, SIDE]); // warm-up
	const ms = [];
	for (let i = 0; i < runs; i++) {
		const t0 = process.hrtime.bigint();
		await infer(s, x, [1, 3, SIDE, SIDE]);
		ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
	}
	const sorted = [...ms].sort((a, b) => a - b);
	console.log(JSON.stringify({
		engine: `onnxruntime-node ${require('onnxruntime-node/package.json').version}`,
		threads, min_ms: sorted[0], median_ms: sorted[Math.floor(sorted.length / 2)], runs_ms: ms,
	}));
}

async function main() {
	const args = process.argv.slice(2);
	const cmd = args.shift();
	const threads = Number(flag(args, '--threads', String(os.availableParallelism())));
	const commands = { golden, bench };
	if (!commands[cmd] || args.length < 1) {
		console.error('usage: node ort.js golden|bench MODEL ... (see the head of ort.js)');
		process.exit(2);
	}
	await commands[cmd](args, threads);
}

main().catch((err) => {
	console.error(`ort.js: ${err.message}`);
	process.exit(1);
});
