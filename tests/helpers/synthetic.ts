import { makeClassification, type MakeClassificationOptions } from '../../src/io/generate.js';
import type { Dataset } from '../../src/pipeline/dataset.js';

/** A make_classification data set held in memory, as loadDataset would give it. */
export function syntheticDataset(options: Omit<MakeClassificationOptions, 'batchRows'>): Dataset {
  const features = new Float32Array(options.rows * options.features);
  const labels = new Float32Array(options.rows);
  let at = 0;
  for (const b of makeClassification({ ...options, batchRows: 4096 })) {
    features.set(b.features, at * options.features);
    labels.set(b.labels, at);
    at += b.rows;
  }
  return {
    file: 'synthetic', rows: options.rows, features, labels, classes: options.classes, labelName: 'label',
    featureNames: Array.from({ length: options.features }, (_, i) => `f${i}`),
  };
}
