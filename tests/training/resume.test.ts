import { describe, expect, it } from 'vitest';
import { hiddenLayer, mlp } from '../../src/nn/layers.js';
import { Model } from '../../src/nn/model.js';
import { adam } from '../../src/nn/optimizers.js';
import { fit, type FitOptions } from '../../src/pipeline/train.js';
import type { TrainState } from '../../src/pipeline/trainState.js';
import { syntheticDataset } from '../helpers/synthetic.js';

/**
 * Resuming from a state taken after any step, odd or even, mid-epoch or at an epoch's end, gives
 * the uninterrupted run's weights bit for bit, and its remaining events.
 */
const data = syntheticDataset({ rows: 300, features: 8, informative: 5, classes: 3, seed: 6 });
const spec = mlp({ inputs: 8, classes: 3, layers: [hiddenLayer({ units: 16, activation: 'swish', batchNorm: true, dropout: 0.25 })] });
const options: FitOptions = {
  epochs: 4, batchSize: 64, microBatch: 32, optimizer: adam({ learningRate: 0.01 }), clipNorm: 1,
  lrSchedule: { name: 'cosine', warmupSteps: 3 }, workers: 'inline', seed: 12,
};

describe('fit with resume', () => {
  it.each([1, 2, 'inline'] as const)('from a state after each step gives the uninterrupted weights and events (%s)', async (workers) => {
    const states: TrainState[] = [];
    const whole = Model.init(spec, 4);
    const full = await fit(whole, data, { ...options, workers, checkpoint: { everySteps: 1, save: async (s) => { states.push(s); } } });
    expect(states.length).toBe(4 * 5 - 1); // 5 steps an epoch; none after the last
    for (const state of [states[2]!, states[3]!, states[4]!, states[9]!, states[12]!]) {
      const model = Model.init(spec, 999); // the state's parameters replace these
      const rest = await fit(model, data, { ...options, workers, resume: state });
      expect(Buffer.from(model.params.buffer).equals(Buffer.from(whole.params.buffer)), `resumed after step ${state.globalStep}`).toBe(true);
      expect(rest.epochs).toEqual(full.epochs.slice(state.epoch));
      expect(rest.end.loss).toBe(full.end.loss);
    }
  });
});
