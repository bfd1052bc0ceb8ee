/**
 * `quiver predict`: a saved model's predictions for an Arrow file, written as Arrow batch by
 * batch: the kept input columns, `prediction`, and `probability` (two classes) or one
 * `probability_<label>` per class.
 *
 * @example
 * quiver predict --model out/seed --input data/seed-test.arrow --out preds.arrow --keep id,label
 */
import type { Command } from 'commander';
import { DataError, QuiverError, where } from '../errors.js';
import { loadModel } from '../io/modelFile.js';
import { ipcFormatOf, openBatchWriter, STDOUT } from '../io/predictions.js';
import { Predictor } from '../pipeline/predict.js';
import { openArrowFile } from '../pipeline/source.js';
import { nameList } from './args.js';
import { onInterrupt } from './interrupt.js';

export interface PredictFlags {
  model: string;
  input: string;
  out: string;
  keep?: string[];
}

/** Ctrl-C: the run stops after the current batch and leaves nothing behind; exit 130 (128 + SIGINT). */
class Interrupted extends QuiverError {
  override readonly exitCode = 130;
}

/**
 * Reads the input batch by batch, predicts each, writes it; every input and model problem is
 * found before the output is opened where it can be, and a failure midway leaves no output.
 */
export async function predictJob(flags: PredictFlags, signal?: AbortSignal): Promise<{ rows: number }> {
  const format = ipcFormatOf(flags.out);
  const model = await loadModel(flags.model);
  const source = await openArrowFile(flags.input);
  try {
    const predictor = new Predictor(model, { file: flags.input, ...(flags.keep && { keep: flags.keep }) });
    const out = await openBatchWriter(flags.out, predictor.schemaFor(source.schema), format);
    try {
      for await (const batch of source.batches) {
        await out.write(predictor.predict(batch));
        if (signal?.aborted) {
          throw new Interrupted('E_INTERRUPTED', `interrupted after ${predictor.rows} rows; ${flags.out === STDOUT ? 'the stream on stdout is cut off' : `nothing written to ${flags.out}`}`);
        }
      }
      if (predictor.rows === 0) throw new DataError('E_NO_ROWS', `${where(flags.input)}: has no rows`);
      await out.close();
    } catch (e) {
      await out.abort();
      throw e;
    }
    return { rows: predictor.rows };
  } finally {
    await source.close();
  }
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('write a saved model\'s predictions for an Arrow file as Arrow, batch by batch')
    .requiredOption('--model <dir>', 'model directory (model.json and weights.safetensors, from train --save)')
    .requiredOption('--input <file>', 'data to predict (Arrow IPC file or stream) with the model\'s feature columns')
    .requiredOption('--out <file>', 'predictions: .arrow or .feather for an IPC file, .arrows for an IPC stream, - for a stream on stdout')
    .option('--keep <cols>', 'input columns to carry over, comma-separated (default: all)', nameList('--keep'))
    .action(async (flags: PredictFlags) => {
      const start = performance.now();
      const stop = onInterrupt('batch');
      try {
        const { rows } = await predictJob(flags, stop.signal);
        const seconds = (performance.now() - start) / 1000;
        process.stderr.write(`wrote ${rows} rows to ${flags.out === STDOUT ? 'stdout' : flags.out} in ${seconds.toFixed(3)} s\n`);
      } finally {
        stop.release();
      }
    });
}
