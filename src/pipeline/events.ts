import type { LayerDiagnostics } from '../nn/diagnostics.js';

/**
 * What training emits, in order: an epoch event per epoch (with a warning event before it the
 * first time a diagnostic finds trouble), then one end event. `--log-format json` writes each as
 * one line of NDJSON; other tools read these field names, so never rename one.
 */
export interface EpochEvent {
  event: 'epoch';
  epoch: number;
  /** Mean loss of this epoch's forward passes, each before its step's update. */
  loss: number;
  trainAccuracy: number;
  /** The learning rate of the epoch's last step (the schedule's). */
  learningRate: number;
  /** Per hidden layer, in order (see nn/diagnostics.ts). */
  layers: LayerDiagnostics[];
  /** Mean loss on the validation rows with this epoch's final weights, when early stopping watches it. */
  validationLoss?: number;
}

/** Trouble a diagnostic found; each code is emitted at most once per run. */
export interface WarningEvent {
  event: 'warning';
  /** W_DEAD_UNITS (over half a layer's units dead) or W_VANISHING_GRADIENT (first layer's gradient norm < 1e-4 of the last's). */
  code: 'W_DEAD_UNITS' | 'W_VANISHING_GRADIENT';
  epoch: number;
  /** The hidden layer concerned (0-based). */
  layer: number;
  message: string;
}

export interface EndEvent {
  event: 'end';
  epochs: number;
  /** Mean loss and accuracy over the training data with the final weights. */
  loss: number;
  trainAccuracy: number;
  testLoss?: number;
  testAccuracy?: number;
  /** On the rows held out by a validation split (TrainingRows.holdout). */
  validationLoss?: number;
  validationAccuracy?: number;
  /** Wall time from the first step to the last update. */
  seconds: number;
  /** Present when the signal stopped training early; `epochs` counts only whole epochs. */
  interrupted?: true;
  /** Present when early stopping ended the run; the final weights are those of `bestEpoch`. */
  stoppedEarly?: true;
  bestEpoch?: number;
}

export type TrainEvent = EpochEvent | WarningEvent | EndEvent;

export interface History {
  epochs: EpochEvent[];
  warnings: WarningEvent[];
  end: EndEvent;
}

/** Dead units over this share of a layer's units earn a warning. */
const DEAD_SHARE = 0.5;
/** A first-layer gradient norm under this share of the last layer's earns a warning. */
const VANISHING_RATIO = 1e-4;
const CURES = 'cures: a lower --lr, leakyRelu/prelu/swish instead of relu, He initialization (--init heNormal), --batch-norm';

/** The warnings an epoch's diagnostics call for; `given` holds the codes already emitted. */
export function diagnosticWarnings(epoch: number, layers: LayerDiagnostics[], units: number[], outputGradNorm: number | null,
                                   given: Set<string>): WarningEvent[] {
  const out: WarningEvent[] = [];
  if (!given.has('W_DEAD_UNITS')) {
    const h = layers.findIndex((l, i) => l.deadUnits > DEAD_SHARE * units[i]!);
    if (h >= 0) {
      out.push({
        event: 'warning', code: 'W_DEAD_UNITS', epoch, layer: h,
        message: `hidden layer ${h}: ${layers[h]!.deadUnits} of ${units[h]} units are dead (output ≤ 0 for every row of epoch ${epoch}); ${CURES}`,
      });
    }
  }
  const first = layers[0]?.gradNorm;
  if (!given.has('W_VANISHING_GRADIENT') && first != null && outputGradNorm != null && outputGradNorm > 0 &&
      first < VANISHING_RATIO * outputGradNorm) {
    out.push({
      event: 'warning', code: 'W_VANISHING_GRADIENT', epoch, layer: 0,
      message: `vanishing gradient: the first layer's weight gradient norm (${first.toExponential(2)}) is under ` +
        `${VANISHING_RATIO} of the output layer's (${outputGradNorm.toExponential(2)}) in epoch ${epoch}; ${CURES}`,
    });
  }
  for (const w of out) given.add(w.code);
  return out;
}
