/**
 * Synthetic classification data by scikit-learn's `make_classification` (Guyon 2003, "Design of
 * experiments for the NIPS 2003 variable selection benchmark"), streamed in bounded memory.
 *
 * Columns, before the optional shuffle of their order:
 *   [0, informative)                  cluster point: centroidₖ + z · Aₖ, z ~ N(0, I), Aₖ ~ U(-1, 1)
 *   [informative, +redundant)         x_inf · B, B ~ U(-1, 1) of shape (informative, redundant)
 *   [.., +repeated)                   copies of random earlier columns
 *   [.., features)                    N(0, 1) noise
 * Centroids are distinct vertices of the hypercube of side 2·classSep; cluster k has label
 * k % classes. Every cluster parameter is drawn once, up front; rows are then drawn one at a time,
 * in row order, from the same Prng, so the output depends on the seed and options but not on
 * `batchRows`.
 *
 * Unlike sklearn, each row picks its cluster uniformly at random rather than each cluster getting
 * an equal share: no row count is needed up front, and the rows need no final shuffle.
 *
 * @example
 * await writeClassificationArrow('train.arrow', { rows: 1e6, features: 20, informative: 10, classes: 2, seed: 42 });
 */
import assert from 'node:assert';
import { Field, Float32, Int32, RecordBatch, Schema, Struct, makeData } from 'apache-arrow';
import { ConfigError } from '../errors.js';
import { Prng } from '../nn/prng.js';
import { openBatchWriter } from './predictions.js';

export interface MakeClassificationOptions {
  /** Number of rows to generate. */
  rows: number;
  /** Total number of feature columns. */
  features: number;
  /** Columns that carry the class signal. */
  informative: number;
  /** Linear combinations of the informative columns; sklearn's default 2, fewer if `features` leaves no room. */
  redundant?: number;
  /** Copies of informative or redundant columns; sklearn's default 0. */
  repeated?: number;
  /** Number of classes; sklearn's default 2. */
  classes: number;
  /** Gaussian clusters per class; sklearn's default 2. */
  clustersPerClass?: number;
  /** Fraction of labels replaced by a uniformly random class (which may be the same one); sklearn's default 0.01. */
  flipY?: number;
  /** Half the side of the hypercube whose vertices are the centroids; sklearn's default 1. */
  classSep?: number;
  /** Centroids on the vertices of a hypercube (true) or of a random polytope (false); sklearn's default true. */
  hypercube?: boolean;
  /** Added to every feature; 0 by default (sklearn can also draw one per feature). */
  shift?: number;
  /** Multiplies every feature after the shift; 1 by default (sklearn can also draw one per feature). */
  scale?: number;
  /** Shuffle the feature columns once; the rows are in random order anyway. sklearn's default true. */
  shuffle?: boolean;
  /** Seed of the Prng every draw comes from. */
  seed: number;
  /** Rows per yielded batch and per Arrow record batch. */
  batchRows?: number;
}

export interface ClassificationBatch {
  /** (rows, features), row-major. */
  features: Float32Array;
  /** (rows), in [0, classes). */
  labels: Int32Array;
  rows: number;
}

type Resolved = Required<MakeClassificationOptions>;

/** The `quiver generate` flag for each option, so messages name what the user typed. */
const FLAGS: Record<keyof MakeClassificationOptions, string> = {
  rows: '--rows', features: '--features', informative: '--informative', redundant: '--redundant',
  repeated: '--repeated', classes: '--classes', clustersPerClass: '--clusters-per-class', flipY: '--flip-y',
  classSep: '--class-sep', hypercube: '--hypercube', shift: '--shift', scale: '--scale',
  shuffle: '--shuffle', seed: '--seed', batchRows: '--batch-rows',
};

function invalid(option: keyof MakeClassificationOptions, rule: string, got: unknown): ConfigError {
  return new ConfigError('E_CONFIG', `generate: ${FLAGS[option]} must be ${rule} (got ${String(got)})`);
}

const MIN_INTEGER = [['rows', 1], ['features', 1], ['informative', 1], ['redundant', 0], ['repeated', 0],
  ['classes', 2], ['clustersPerClass', 1], ['batchRows', 1]] as const;

/** Fills in sklearn's defaults and checks every option once, before anything is drawn or written. */
export function resolveOptions(options: MakeClassificationOptions): Resolved {
  const repeated = options.repeated ?? 0;
  const o: Resolved = {
    ...options,
    redundant: options.redundant ?? Math.max(0, Math.min(2, options.features - options.informative - repeated)),
    repeated,
    clustersPerClass: options.clustersPerClass ?? 2,
    flipY: options.flipY ?? 0.01,
    classSep: options.classSep ?? 1,
    hypercube: options.hypercube ?? true,
    shift: options.shift ?? 0,
    scale: options.scale ?? 1,
    shuffle: options.shuffle ?? true,
    batchRows: options.batchRows ?? 65536,
  };
  for (const [option, min] of MIN_INTEGER) {
    if (!Number.isInteger(o[option]) || o[option] < min) throw invalid(option, `an integer >= ${min}`, o[option]);
  }
  if (!Number.isSafeInteger(o.seed)) throw invalid('seed', 'an integer', o.seed);
  for (const option of ['classSep', 'shift', 'scale'] as const) {
    if (!Number.isFinite(o[option])) throw invalid(option, 'a finite number', o[option]);
  }
  if (!(o.flipY >= 0 && o.flipY <= 1)) throw invalid('flipY', 'between 0 and 1', o.flipY);
  const used = o.informative + o.redundant + o.repeated;
  if (used > o.features) {
    throw new ConfigError('E_CONFIG', `generate: --informative + --redundant + --repeated must be <= --features ` +
      `(got ${o.informative} + ${o.redundant} + ${o.repeated} = ${used} > ${o.features})`);
  }
  if (o.classes * o.clustersPerClass > 2 ** o.informative) {
    throw new ConfigError('E_CONFIG', `generate: --classes * --clusters-per-class must be <= 2 ** --informative, ` +
      `one hypercube vertex per cluster (got ${o.classes} * ${o.clustersPerClass} > 2 ** ${o.informative})`);
  }
  return o;
}

/** Everything drawn once, up front; the rows are then drawn from these. */
interface Clusters {
  count: number;
  /** (count, informative) */
  centroids: Float64Array;
  /** (count, informative, informative): cluster k's points are z · Aₖ. */
  covariances: Float64Array;
  /** (informative, redundant) */
  redundantMix: Float64Array;
  /** (repeated): the column each repeated column copies. */
  repeatedFrom: Int32Array;
  /** (features): output column c holds generated column columnOrder[c]. */
  columnOrder: Uint32Array;
}

function drawClusters(o: Resolved, prng: Prng): Clusters {
  const count = o.classes * o.clustersPerClass;
  const d = o.informative;
  const centroids = hypercubeVertices(count, d, prng);
  for (let i = 0; i < centroids.length; i++) centroids[i] = centroids[i]! * 2 * o.classSep - o.classSep;
  if (!o.hypercube) {
    // sklearn: centroids *= uniform(size=(count, 1)); centroids *= uniform(size=(1, d))
    const perCluster = Array.from({ length: count }, () => prng.next());
    const perDim = Array.from({ length: d }, () => prng.next());
    for (let i = 0; i < centroids.length; i++) centroids[i] = centroids[i]! * perCluster[Math.floor(i / d)]! * perDim[i % d]!;
  }
  const covariances = new Float64Array(count * d * d).map(() => prng.uniform(-1, 1));
  const redundantMix = new Float64Array(d * o.redundant).map(() => prng.uniform(-1, 1));
  // sklearn's rounding: ((n - 1) * uniform + 0.5) as int, over the informative and redundant columns.
  const n = d + o.redundant;
  const repeatedFrom = new Int32Array(o.repeated).map(() => Math.floor((n - 1) * prng.next() + 0.5));
  const columnOrder = Uint32Array.from({ length: o.features }, (_, c) => c);
  if (o.shuffle) prng.shuffle(columnOrder);
  return { count, centroids, covariances, redundantMix, repeatedFrom, columnOrder };
}

/**
 * (count, d) of 0/1: `count` distinct vertices of the unit hypercube, as sklearn's
 * _generate_hypercube: the last min(d, 30) coordinates are the bits of distinct integers sampled
 * without replacement (Floyd's algorithm), any coordinates before them are random bits.
 */
function hypercubeVertices(count: number, d: number, prng: Prng): Float64Array {
  const low = Math.min(d, 30);
  const universe = 2 ** low;
  assert(count <= universe);
  const picked = new Set<number>();
  for (let j = universe - count; j < universe; j++) {
    const t = prng.int(j + 1);
    picked.add(picked.has(t) ? j : t);
  }
  const out = new Float64Array(count * d);
  let k = 0;
  for (const vertex of picked) {
    for (let j = 0; j < d - low; j++) out[k * d + j] = prng.int(2);
    for (let b = 0; b < low; b++) out[k * d + d - 1 - b] = (vertex >>> b) & 1;
    k++;
  }
  return out;
}

/**
 * Yields `options.rows` rows in batches of `batchRows` (the last may be shorter); the options are
 * checked before the first batch.
 */
export function* makeClassification(options: MakeClassificationOptions): Generator<ClassificationBatch> {
  const o = resolveOptions(options);
  const prng = new Prng(o.seed);
  const c = drawClusters(o, prng);
  const d = o.informative;
  const noiseFrom = d + o.redundant + o.repeated;
  const x = new Float64Array(o.features); // one row, in generated column order
  const z = new Float64Array(d);
  for (let start = 0; start < o.rows; start += o.batchRows) {
    const rows = Math.min(o.batchRows, o.rows - start);
    const features = new Float32Array(rows * o.features);
    const labels = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      const k = prng.int(c.count);
      for (let i = 0; i < d; i++) z[i] = prng.normal();
      // x_inf (d) = centroidₖ (d) + z (d) · Aₖ (d, d)
      for (let j = 0; j < d; j++) {
        let s = c.centroids[k * d + j]!;
        for (let i = 0; i < d; i++) s += z[i]! * c.covariances[(k * d + i) * d + j]!;
        x[j] = s;
      }
      // x_red (redundant) = x_inf (d) · B (d, redundant)
      for (let j = 0; j < o.redundant; j++) {
        let s = 0;
        for (let i = 0; i < d; i++) s += x[i]! * c.redundantMix[i * o.redundant + j]!;
        x[d + j] = s;
      }
      for (let j = 0; j < o.repeated; j++) x[d + o.redundant + j] = x[c.repeatedFrom[j]!]!;
      for (let j = noiseFrom; j < o.features; j++) x[j] = prng.normal();
      labels[r] = prng.next() < o.flipY ? prng.int(o.classes) : k % o.classes;
      const row = r * o.features;
      for (let j = 0; j < o.features; j++) features[row + j] = (x[c.columnOrder[j]!]! + o.shift) * o.scale;
    }
    yield { features, labels, rows };
  }
}

/** Columns f0…f{features-1} (Float32) and label (Int32). */
function classificationSchema(features: number): Schema {
  const fields = Array.from({ length: features }, (_, j) => new Field(`f${j}`, new Float32(), false));
  return new Schema([...fields, new Field('label', new Int32(), false)]);
}

function toRecordBatch(schema: Schema, batch: ClassificationBatch, features: number): RecordBatch {
  const { rows } = batch;
  const children = [];
  for (let j = 0; j < features; j++) {
    const column = new Float32Array(rows);
    for (let r = 0; r < rows; r++) column[r] = batch.features[r * features + j]!;
    children.push(makeData({ type: new Float32(), length: rows, nullCount: 0, data: column }));
  }
  children.push(makeData({ type: new Int32(), length: rows, nullCount: 0, data: batch.labels }));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children }));
}

/**
 * Writes the rows as an Arrow IPC file, one record batch per `batchRows` rows, through the
 * predictions' batch writer: each batch's bytes reach the disk before the next batch is drawn,
 * so memory stays at about one batch, and the file gets its name only when complete.
 */
export async function writeClassificationArrow(path: string, options: MakeClassificationOptions,
                                               onProgress?: (rowsDone: number) => void): Promise<void> {
  const o = resolveOptions(options);
  const schema = classificationSchema(o.features);
  const out = await openBatchWriter(path, schema, 'file').catch((err: unknown) => { throw cannotWrite(path, err); });
  try {
    let rowsDone = 0;
    for (const batch of makeClassification(o)) {
      await out.write(toRecordBatch(schema, batch, o.features));
      rowsDone += batch.rows;
      onProgress?.(rowsDone);
    }
  } catch (err) {
    await out.abort();
    throw cannotWrite(path, err);
  }
  await out.close().catch((err: unknown) => { throw cannotWrite(path, err); });
}

function cannotWrite(path: string, err: unknown): ConfigError {
  const reason = err instanceof Error ? err.message : String(err);
  return new ConfigError('E_CONFIG', `generate: cannot write --out ${path} (${reason})`, { cause: err });
}
