import type { Prng } from '../nn/prng.js';
import type { Dataset } from './dataset.js';
import type { RowReader, TrainingRows } from './rows.js';
import { applyStandardization, type Standardization } from './standardize.js';

export interface MemoryRowsOptions {
  /** Only these rows of the data set (a validation split's), in this order. */
  indices?: Uint32Array;
  standardize?: Standardization;
}

/**
 * A data set held in memory as TrainingRows: each epoch walks a permutation of its rows (drawn
 * anew each epoch when shuffling, Fisher-Yates from the epoch's Prng).
 */
export function memoryRows(data: Dataset, options: MemoryRowsOptions = {}): TrainingRows {
  const base = options.indices?.slice() ?? Uint32Array.from({ length: data.rows }, (_, i) => i);
  const order = base.slice();
  const inFileOrder = options.indices === undefined;
  const n = data.featureNames.length;
  const s = options.standardize;
  const { classLabels } = data as Dataset & { classLabels?: (number | boolean | string)[] };
  return {
    file: data.file, featureNames: data.featureNames, labelName: data.labelName, classes: data.classes,
    ...(classLabels !== undefined && { classLabels }),
    ...(s !== undefined && { standardize: s }),
    rows: order.length,
    epoch(_epoch: number, rng: Prng, shuffle: boolean): RowReader {
      // Each epoch's order depends on its own rng alone (not on the epochs before), so a run
      // resumed at any epoch reads the rows in the order the uninterrupted run does.
      if (shuffle) {
        order.set(base);
        rng.shuffle(order);
      }
      const contiguous = inFileOrder && !shuffle;
      let pos = 0;
      return {
        async fill(features, labels, max) {
          const k = Math.min(max, order.length - pos);
          if (contiguous) { // rows in file order: one block copy
            features.set(data.features.subarray(pos * n, (pos + k) * n));
            labels.set(data.labels.subarray(pos, pos + k));
          } else {
            for (let r = 0; r < k; r++) {
              const src = order[pos + r]!;
              features.set(data.features.subarray(src * n, (src + 1) * n), r * n);
              labels[r] = data.labels[src]!;
            }
          }
          if (s !== undefined) applyStandardization(features, k, s);
          pos += k;
          return k;
        },
        async close() {},
      };
    },
  };
}
