// node count.mjs A.png B.png THRESHOLD INCLUDE_AA -> pixelmatch 8's differing-pixel count
import fs from 'fs';
import {PNG} from 'pngjs';
import pixelmatch from 'pixelmatch';
const [,, a, b, threshold, includeAA] = process.argv;
const one = PNG.sync.read(fs.readFileSync(a)), two = PNG.sync.read(fs.readFileSync(b));
console.log(pixelmatch(one.data, two.data, null, one.width, one.height, {threshold: +threshold, includeAA: includeAA === 'true'}));
