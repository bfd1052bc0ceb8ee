/**
 * `quiver seed` (what `npm start` runs): the article's example on the bundled data. A 20 → 64 → 1
 * network, full-batch SGD at 0.01 for 100 epochs, from the article's exact initial weights;
 * first with ReLU hidden units, printed as the article prints it, then with tanh and sigmoid
 * (from their own initial weights), all three side by side in `quiver compare`'s table.
 */
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { CompareRun } from '../io/plot.js';
import { DEFAULT_MICRO_BATCH } from '../pipeline/train.js';
import { compareTable } from './compare.js';
import { formatAccuracy, textLogger, trainJob, type TrainFlags } from './train.js';

const DATA = fileURLToPath(new URL('../../data/', import.meta.url));
/** Epochs whose loss the table shows, as the article logs them. */
const SHOWN = [0, 10, 50, 90];

const RUNS = [
  { activation: 'relu', init: 'init-relu.safetensors' },
  { activation: 'tanh', init: 'init-tanh-sigmoid.safetensors' },
  { activation: 'sigmoid', init: 'init-tanh-sigmoid.safetensors' },
] as const;

export function registerSeed(program: Command): void {
  program
    .command('seed')
    .description("train the seed article's example on the bundled data: ReLU, then tanh and sigmoid side by side")
    .option('--data <dir>', 'directory with seed-train.arrow, seed-test.arrow and the initial weights', DATA)
    .action(async (flags: { data: string }) => {
      const write = (line: string): void => { process.stdout.write(line + '\n'); };
      const runs: CompareRun[] = [];
      for (const run of RUNS) {
        const job: TrainFlags = {
          train: `${flags.data}/seed-train.arrow`, test: `${flags.data}/seed-test.arrow`, label: 'label',
          layers: [64], activation: [run.activation], epochs: 100, lr: 0.01, batchSize: 'full', momentum: 0,
          seed: 42, microBatch: DEFAULT_MICRO_BATCH, cacheMb: 256, logEvery: 10, logFormat: 'text', initFrom: `${flags.data}/${run.init}`,
        };
        if (run.activation === 'relu') write('Hidden layer of 64 ReLU units (20 → 64 → 1), full-batch SGD, lr 0.01:');
        const log = textLogger(10, write);
        const { history } = await trainJob(job, (e) => {
          if (run.activation !== 'relu') return;
          if (e.event === 'epoch') log(e);
          else if (e.event === 'end') write(`Test accuracy: ${formatAccuracy(e.testAccuracy!)}`); // the article's last line
        });
        runs.push({ activation: run.activation, epochs: history.epochs, end: history.end });
      }
      write('');
      write('The same network with each hidden activation (loss at epoch N is before that epoch\'s update):');
      for (const line of compareTable(runs, SHOWN)) write(line);
    });
}

