/**
 * Streaming: one epoch of 64 → 256 → 1 (ReLU), batch 256, trained by `quiver train` from a
 * generated Arrow IPC file on disk (4 GB by default, written by `quiver generate` if missing,
 * and removed afterwards unless `--keep`), against the same run on the same rows held in
 * memory (a --cache-mb larger than the file); plus the decode rate alone (Arrow file →
 * row-major float32, the copy the trainer makes into its input slots). Each part runs in a
 * child process of its own, so its peak RSS (getrusage's maxrss, worker threads included) is
 * its own. One table at the end.
 *
 * ```sh
 * npm run bench:stream                                          # 4 GB: about fifteen minutes
 * npm run build && node --import tsx bench/stream.ts --gb 0.5 --file /tmp/quiver-stream.arrow
 * node --import tsx bench/stream.ts --keep                      # leave the file it wrote for the next run
 * node --import tsx bench/stream.ts --repeat 3                  # alternate the training runs 3 times, report medians
 * ```
 * The training runs are `node dist/cli/main.js train …` with nothing else loaded, the way a user
 * runs them; the decode part runs this file through tsx (its loader thread adds about 25 MB).
 * Held in memory, a 4 GB file takes about 3× its size while it loads (loadDataset grows by
 * doubling), so that part needs some 12 GB of RAM.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { copyBatch, planColumns } from '../dist/pipeline/columns.js';
import { openSource } from '../dist/pipeline/source.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => { const i = args.indexOf(name); return i < 0 ? fallback : args[i + 1]!; };
const gb = Number(flag('--gb', '4'));
const file = flag('--file', join(os.tmpdir(), `quiver-stream-${gb}gb.arrow`));
const part = flag('--part', 'all');
const FEATURES = 64;
/** float32 features and an int32 label, as `quiver generate` writes them. */
const ROW_BYTES = (FEATURES + 1) * 4;
const BATCH = 256;

interface Result {
  part: string;
  /** Rows the measured work went over. */
  rows: number;
  /** Seconds of that work (an epoch's: first step to last update). */
  seconds: number;
  /** The child's whole run: start-up, any pass ahead or loading, the measured work, the final evaluation. */
  wall: number;
  /** Bytes of the file the rows take. */
  bytes: number;
  /** Peak resident set of the child, bytes. */
  rss: number;
  note?: string;
}

const peak = (): number => process.resourceUsage().maxRSS * 1024;

/** Arrow file → row-major float32 features and labels, batch by batch, nothing kept. */
async function decode(): Promise<Result> {
  const t0 = performance.now();
  const source = await openSource(file);
  const plan = planColumns(file, source.schema, 'label');
  let f = new Float32Array(0);
  let l = new Float32Array(0);
  let n = 0;
  for await (const batch of source.batches) {
    if (l.length < batch.numRows) { f = new Float32Array(batch.numRows * FEATURES); l = new Float32Array(batch.numRows); }
    copyBatch(plan, batch, n, f, l, 0);
    n += batch.numRows;
  }
  await source.close();
  const s = (performance.now() - t0) / 1000;
  return { part: 'decode (file → row-major float32)', rows: n, seconds: s, wall: s, bytes: statSync(file).size, rss: peak() };
}

/**
 * One epoch of `quiver train` as a user runs it, in a child with nothing else loaded: streamed
 * from disk (--cache-mb 0) or held in memory (a cache larger than the file). Its peak RSS comes
 * from bench/maxrss.mjs, preloaded.
 */
function train(how: 'stream' | 'memory', rows: number): Result {
  const bytes = statSync(file).size;
  const cacheMb = how === 'stream' ? 0 : Math.ceil(bytes / 2 ** 20) + 1;
  const t0 = performance.now();
  const run = spawnSync(process.execPath, ['--import', join(import.meta.dirname, 'maxrss.mjs'), join(import.meta.dirname, '../dist/cli/main.js'),
    'train', '--train', file, '--cache-mb', String(cacheMb), '--epochs', '1', '--batch-size', String(BATCH), '--layers', '256',
    '--activation', 'relu', '--lr', '0.01', '--seed', '7', '--log-format', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const wall = (performance.now() - t0) / 1000;
  if (run.status !== 0) throw new Error(`quiver train (${how}) exited ${run.status}: ${run.stderr}`);
  const end = JSON.parse(run.stdout.trim().split('\n').pop()!) as { event: string; seconds: number; trainAccuracy: number };
  const rss = Number(/maxrss (\d+)/.exec(run.stderr)?.[1]);
  return {
    part: how === 'stream' ? 'train, streamed from disk' : 'train, held in memory', rows, seconds: end.seconds, wall, bytes, rss,
    note: `train accuracy ${end.trainAccuracy.toFixed(4)}`,
  };
}

if (part === 'decode') {
  console.log(JSON.stringify(await decode()));
} else {
  const rows = Math.floor((gb * 1e9) / ROW_BYTES);
  const generated = !existsSync(file) || statSync(file).size < 0.95 * gb * 1e9;
  if (generated) {
    console.log(`writing ${rows.toLocaleString('en-US')} rows × ${FEATURES} features to ${file} with quiver generate …`);
    execFileSync(process.execPath, [join(import.meta.dirname, '../dist/cli/main.js'), 'generate', '--out', file, '--rows', String(rows),
      '--features', String(FEATURES), '--informative', '16', '--classes', '2', '--seed', '1', '--batch-rows', '65536'], { stdio: 'inherit' });
  }
  const child = (name: string): Result => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--part', name, '--file', file, ...args],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
    return JSON.parse(out.trim().split('\n').pop()!) as Result;
  };
  process.stderr.write('decode …\n');
  const decoded = child('decode');
  // --repeat N: the two training runs alternate N times (the machine's other load falls on both
  // alike); each row of the table is the run of median seconds, with the largest peak RSS.
  const repeat = Number(flag('--repeat', '1'));
  const runs: Record<'stream' | 'memory', Result[]> = { stream: [], memory: [] };
  for (let i = 0; i < repeat; i++) {
    for (const how of ['stream', 'memory'] as const) {
      process.stderr.write(`train, ${how} (${i + 1} of ${repeat}) …\n`);
      runs[how].push(train(how, decoded.rows));
    }
  }
  const median = (rs: Result[]): Result => {
    const sorted = rs.slice().sort((a, b) => a.seconds - b.seconds);
    const m = sorted[(sorted.length - 1) >> 1]!;
    return { ...m, rss: Math.max(...rs.map((r) => r.rss)), note: `${m.note}${rs.length > 1 ? `; epochs of ${rs.map((r) => r.seconds.toFixed(1)).join(', ')} s` : ''}` };
  };
  const results = [decoded, median(runs.stream), median(runs.memory)];
  const size = statSync(file).size;
  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;
  const fmt = (r: Result): string[] => [r.part, r.rows.toLocaleString('en-US'), r.seconds.toFixed(1), Math.round(r.rows / r.seconds).toLocaleString('en-US'),
    (r.bytes / r.seconds / 1e9).toFixed(2), r.wall.toFixed(1), mb(r.rss)];
  const head = ['part', 'rows', 'seconds', 'rows/s', 'GB/s', 'wall s', 'peak RSS'];
  const table = [head, ...results.map(fmt)];
  const widths = head.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  console.log(`\nstream: one epoch of 64 → 256 → 1 (relu), batch ${BATCH}, sgd 0.01, on ${os.availableParallelism()} cores; ${os.cpus()[0]?.model ?? ''}, node ${process.version}`);
  console.log(`file: ${file}, ${(size / 1e9).toFixed(2)} GB, ${results[0]!.rows.toLocaleString('en-US')} rows (quiver generate, float32 features, record batches of 65,536 rows)`);
  for (const row of table) console.log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  const [, s, m] = results;
  console.log(`streamed / in memory, rows/s: ${((s!.rows / s!.seconds) / (m!.rows / m!.seconds)).toFixed(3)}`);
  for (const r of results) if (r.note) console.log(`  ${r.part}: ${r.note}`);
  console.log('  seconds: the measured work (training: the epoch, first step to last update); wall s: the child\'s whole run,');
  console.log('  opening and loading included, and after training the evaluation of the final weights over every row');
  if (generated && !args.includes('--keep')) rmSync(file, { force: true });
}
