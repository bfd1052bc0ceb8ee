import type { Prng } from '../nn/prng.js';

/**
 * A shuffle buffer over rows that arrive in order (as tf.data's shuffle does): it holds up to
 * `capacity` rows, and each row it gives out is drawn uniformly from those it holds, its place
 * taken by the next row in. With capacity ≥ the number of rows this is a uniform shuffle;
 * smaller, it mixes rows within a window, in bounded memory.
 */
export class ShuffleBuffer {
  /** (capacity, inputs) row-major: rows [0, count) are held; a reader may decode new rows in place after them (added). */
  readonly features: Float32Array;
  /** (capacity) class indices. */
  readonly labels: Float32Array;
  private size = 0;

  constructor(readonly capacity: number, readonly inputs: number, private readonly rng: Prng) {
    this.features = new Float32Array(capacity * inputs);
    this.labels = new Float32Array(capacity);
  }

  get full(): boolean { return this.size === this.capacity; }
  get count(): number { return this.size; }

  /** Takes in the `k` rows written in place at rows [count, count + k) of features and labels. */
  added(k: number): void {
    if (!(k >= 0 && this.size + k <= this.capacity)) throw new RangeError(`${k} rows do not fit: ${this.size} of ${this.capacity} held`);
    this.size += k;
  }

  /** Adds row r of (features, labels); the buffer must not be full. */
  push(features: Float32Array, labels: Float32Array, r: number): void {
    const n = this.inputs;
    this.features.set(features.subarray(r * n, (r + 1) * n), this.size * n);
    this.labels[this.size] = labels[r]!;
    this.size++;
  }

  /** Moves a uniformly drawn row out into row `at` of (features, labels). */
  pop(features: Float32Array, labels: Float32Array, at: number): void {
    const n = this.inputs;
    const j = this.rng.int(this.size);
    features.set(this.features.subarray(j * n, (j + 1) * n), at * n);
    labels[at] = this.labels[j]!;
    this.size--;
    if (j !== this.size) { // the last row fills the hole
      this.features.copyWithin(j * n, this.size * n, (this.size + 1) * n);
      this.labels[j] = this.labels[this.size]!;
    }
  }
}
