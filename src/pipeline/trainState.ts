import type { DiagnosticsState } from '../nn/diagnostics.js';
import { Prng } from '../nn/prng.js';
import type { TrainEvent } from './events.js';

/**
 * Everything a run needs to go on exactly where it stopped: taken between two steps, written
 * by a checkpoint (io/checkpoint.ts) and given back as FitOptions.resume. A resumed run does the
 * same steps on the same rows with the same numbers as the uninterrupted one, so its final
 * weights are byte-identical.
 */
export interface TrainState {
  /** The epoch in progress (0-based), and how many of its steps are done. */
  epoch: number;
  step: number;
  /** Steps done in the whole run: Adam's t, the dropout masks and the warm-up count on it. */
  globalStep: number;
  /** The parameters after step `globalStep` (params.size floats), and the optimizer's state vectors. */
  params: Float32Array;
  optimizerState: Float32Array[];
  /** The epoch and warning events emitted so far. */
  events: TrainEvent[];
  /** The epoch in progress's sums so far. */
  epochLoss: number;
  epochCorrect: number;
  epochRows: number;
  epochOutputGradNorm: number;
  diagnostics: DiagnosticsState;
  /** Early stopping: the best validation loss (null: none yet), its epoch, epochs since, and its weights. */
  best: { loss: number | null; epoch: number; since: number; params: Float32Array | null };
  /** Seconds of training before this state, for the end event's `seconds`. */
  seconds: number;
}

/**
 * The rows' shuffle of epoch `epoch`: a Prng of its own, apart from the initializers' (which
 * start from the seed itself), the same whenever the epoch starts.
 */
export function epochRng(seed: number, epoch: number): Prng {
  let h = Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return new Prng((h ^ (h >>> 15)) >>> 0);
}
