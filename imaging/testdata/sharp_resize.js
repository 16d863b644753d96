// Resizes raw 8-bit images with sharp's lanczos3 "fill" resize, the way
// rmbgd's reference pipeline calls it, for the resampler test of package
// imaging (TestResizeMatchesSharp).
//
//   node sharp_resize.js DIR
//
// DIR/cases.json lists {name, width, height, channels, toWidth, toHeight,
// orientation}; DIR/NAME.in contains the stored pixels. DIR/NAME.out receives
// sharp's output: one channel for one, RGB for three, and RGB with alpha
// dropped after the resize for four, as removeAlpha() does. A case with an
// EXIF orientation goes through a PNG carrying it and the reference call
// sharp(file).rotate().removeAlpha().resize(...). Prints sharp's version.
'use strict';

const fs = require('fs');
const path = require('path');
const sharp = require('sharp');

async function main() {
	const dir = process.argv[2];
	const cases = JSON.parse(fs.readFileSync(path.join(dir, 'cases.json')));
	for (const c of cases) {
		const raw = fs.readFileSync(path.join(dir, c.name + '.in'));
		let img = sharp(raw, { raw: { width: c.width, height: c.height, channels: c.channels } });
		if (c.orientation > 1) {
			const png = await img.withMetadata({ orientation: c.orientation }).png().toBuffer();
			img = sharp(png).rotate();
		}
		if (c.channels === 4) img = img.removeAlpha();
		img = img.resize(c.toWidth, c.toHeight, { fit: 'fill', kernel: 'lanczos3' });
		if (c.channels === 1) img = img.extractChannel(0);
		fs.writeFileSync(path.join(dir, c.name + '.out'), await img.raw().toBuffer());
	}
	console.log(require('sharp/package.json').version);
}

main().catch((err) => {
	console.error(`sharp_resize: ${err.message}`);
	process.exit(1);
});
