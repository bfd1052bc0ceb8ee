import type { Prng } from '../nn/prng.js';

/**
 * A shuffle buffer over rows that arrive in order (as tf.data's shuffle does): it holds up to
 * `capacity` rows, and each row it gives out is drawn uniformly from those it holds, its place
 * taken by the next row in. With capacity ≥ the number of rows this is a uniform shuffle;
 * smaller, it mixes rows within a window, in bounded memory.
 */
export class ShuffleBuffer {
  private readonly features: Float32Array;
  private readonly labels: Float32Array;
  private size = 0;

  constructor(readonly capacity: number, readonly inputs: number, private readonly rng: Prng) {
    this.features = new Float32Array(capacity * inputs);
    this.labels = new Float32Array(capacity);
  }

  get full(): boolean { return this.size === this.capacity; }
  get count(): number { return this.size; }

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
