// Times pixelmatch (PNG decode included, as its own CLI does it) on pairs of PNG files.
// node time_pairs.mjs REPEAT THRESHOLD A.png B.png [A.png B.png ...]
// prints one JSON line per round and pair: {"pair": i, "ms": wall milliseconds, "count": differing pixels}
import fs from 'fs';
import {PNG} from 'pngjs';
import pixelmatch from 'pixelmatch';

const [,, repeatArg, thresholdArg, ...files] = process.argv;
const repeat = Number(repeatArg), threshold = Number(thresholdArg);
for (let p = 0; p < files.length; p += 2) {
    for (let round = 0; round < repeat; round++) {
        const start = process.hrtime.bigint();
        const a = PNG.sync.read(fs.readFileSync(files[p]));
        const b = PNG.sync.read(fs.readFileSync(files[p + 1]));
        const diff = new Uint8Array(a.data.length);  // drawn, not encoded: siteward's diff image is drawn too
        const count = pixelmatch(a.data, b.data, diff, a.width, a.height, {threshold});
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        console.log(JSON.stringify({pair: p / 2, ms, count}));
    }
}
