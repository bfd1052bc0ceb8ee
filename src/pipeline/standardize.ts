/**
 * Feature standardization, (x − mean) / std per column, with the statistics from one streaming
 * pass (Welford 1962: numerically stable, one row at a time, no second pass over the data).
 * Stored in model.json and applied the same way at training, evaluation and prediction.
 */
export interface Standardization {
  mean: number[];
  /** Population standard deviation; a constant column gets 1, so it maps to 0. */
  std: number[];
}

export class Welford {
  private n = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;

  constructor(readonly features: number) {
    this.mean = new Float64Array(features);
    this.m2 = new Float64Array(features);
  }

  /** Adds `rows` rows of x (rows, features) row-major. */
  add(x: Float32Array, rows: number): void {
    const f = this.features;
    for (let r = 0; r < rows; r++) {
      this.n++;
      const o = r * f;
      for (let j = 0; j < f; j++) {
        const v = x[o + j]!;
        const d = v - this.mean[j]!;
        this.mean[j] = this.mean[j]! + d / this.n;
        this.m2[j] = this.m2[j]! + d * (v - this.mean[j]!);
      }
    }
  }

  result(): Standardization {
    const std = Array.from(this.m2, (m2) => {
      const s = Math.sqrt(m2 / Math.max(1, this.n));
      return s > 0 && Number.isFinite(s) ? s : 1;
    });
    return { mean: Array.from(this.mean), std };
  }
}

/** x ← (x − mean) / std in place, over `rows` rows. */
export function applyStandardization(x: Float32Array, rows: number, s: Standardization): void {
  const f = s.mean.length;
  for (let r = 0; r < rows; r++) {
    const o = r * f;
    for (let j = 0; j < f; j++) x[o + j] = (x[o + j]! - s.mean[j]!) / s.std[j]!;
  }
}
