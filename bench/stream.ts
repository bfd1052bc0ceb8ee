/**
 * Streaming: one epoch of 64 → 256 → 1 trained from a generated Arrow file on disk (4 GB by
 * default, written by `quiver generate`'s generator if missing), against the same network on
 * rows held in memory; plus the decode rate alone (Arrow file → row-major float32, the copy the
 * trainer makes into the arena). Peak RSS of this process is printed after each part.
 *
 * ```sh
 * npm run bench:stream                    # 4 GB: minutes
 * npm run build && node --import tsx bench/stream.ts --gb 0.5 --file /tmp/quiver-stream.arrow
 * (it runs the compiled library in dist/, as a user would, so the pool's threads load no TypeScript)
 * ```
 */
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Model, fit, hiddenLayer, mlp, sgd } from '../dist/index.js';
import { writeClassificationArrow } from '../dist/io/generate.js';
import { copyBatch, planColumns } from '../dist/pipeline/columns.js';
import { memoryRows } from '../dist/pipeline/memoryRows.js';
import { trainingRows } from '../dist/pipeline/open.js';
import { openArrowFile } from '../dist/pipeline/source.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => { const i = args.indexOf(name); return i < 0 ? fallback : args[i + 1]!; };
const gb = Number(flag('--gb', '4'));
const file = flag('--file', join(tmpdir(), `quiver-stream-${gb}gb.arrow`));
const memoryGb = Math.min(gb, Number(flag('--memory-gb', '1')));
const FEATURES = 64;
const ROW_BYTES = (FEATURES + 1) * 4;
const rows = Math.floor((gb * 1e9) / ROW_BYTES);
const peak = (): string => `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`;

if (!existsSync(file) || statSync(file).size < 0.95 * gb * 1e9) {
  console.log(`writing ${rows.toLocaleString('en-US')} rows × ${FEATURES} features to ${file} …`);
  await writeClassificationArrow(file, { rows, features: FEATURES, informative: 16, classes: 2, seed: 1, batchRows: 65_536 });
}
const bytes = statSync(file).size;
console.log(`file: ${(bytes / 1e9).toFixed(2)} GB, ${rows.toLocaleString('en-US')} rows`);

// Decode alone.
{
  const source = await openArrowFile(file);
  const plan = planColumns(file, source.schema, 'label');
  let f = new Float32Array(0);
  let l = new Float32Array(0);
  let n = 0;
  const t0 = performance.now();
  for await (const batch of source.batches) {
    if (l.length < batch.numRows) { f = new Float32Array(batch.numRows * FEATURES); l = new Float32Array(batch.numRows); }
    copyBatch(plan, batch, n, f, l, 0);
    n += batch.numRows;
  }
  await source.close();
  const s = (performance.now() - t0) / 1000;
  console.log(`decode: ${Math.round(n / s).toLocaleString('en-US')} rows/s, ${(bytes / s / 1e9).toFixed(2)} GB/s; peak RSS ${peak()}`);
}

const spec = mlp({ inputs: FEATURES, layers: [hiddenLayer({ units: 256 })] });
const init = Model.init(spec, 7).params;
const options = { epochs: 1, batchSize: 256, optimizer: sgd({ learningRate: 0.01 }) } as const;

const streamed = await trainingRows(file, { cacheBytes: 0 });
const a = new Model(spec, init.slice());
const hs = await fit(a, streamed, options);
console.log(`streamed: ${Math.round(streamed.rows! / hs.end.seconds).toLocaleString('en-US')} rows/s over ${streamed.rows!.toLocaleString('en-US')} rows; peak RSS ${peak()}`);

// The same training on rows held in memory (the first --memory-gb of them).
const held = Math.floor((memoryGb * 1e9) / ROW_BYTES);
{
  const source = await openArrowFile(file);
  const plan = planColumns(file, source.schema, 'label');
  const features = new Float32Array(held * FEATURES);
  const labels = new Float32Array(held);
  let n = 0;
  for await (const batch of source.batches) {
    if (n >= held) break;
    const take = Math.min(batch.numRows, held - n);
    const f = new Float32Array(batch.numRows * FEATURES);
    const l = new Float32Array(batch.numRows);
    copyBatch(plan, batch, n, f, l, 0);
    features.set(f.subarray(0, take * FEATURES), n * FEATURES);
    labels.set(l.subarray(0, take), n);
    n += take;
  }
  await source.close();
  const data = { file, rows: n, features, labels, classes: 2, labelName: 'label', featureNames: plan.features.map((x) => x.name) };
  const b = new Model(spec, init.slice());
  const hm = await fit(b, memoryRows(data), options);
  const memRate = n / hm.end.seconds;
  const streamRate = streamed.rows! / hs.end.seconds;
  console.log(`in memory: ${Math.round(memRate).toLocaleString('en-US')} rows/s over ${n.toLocaleString('en-US')} rows; streamed/in-memory ${(streamRate / memRate).toFixed(2)}; peak RSS ${peak()}`);
}
