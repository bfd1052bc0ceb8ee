/**
 * `quiver compare`: the same network, data and seed trained once per hidden activation, each
 * with its own default initializer (He for the ReLU family, Glorot for tanh/sigmoid) unless
 * --init names one, and one table of how each trained. `quiver seed` prints its side-by-side
 * table with the same `compareTable`, so the two never drift.
 *
 * @example
 * quiver compare --train data/seed-train.arrow --test data/seed-test.arrow --epochs 100 \
 *   --activations relu,leakyRelu,prelu,swish,tanh,sigmoid --plot compare.png
 */
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError, DivergenceError } from '../errors.js';
import { epochLayers, plotCompare, plotFormat, type CompareRun } from '../io/plot.js';
import { ACTIVATIONS, activationName } from '../nn/activations.js';
import type { TrainEvent } from '../pipeline/train.js';
import { integerList, nameList } from './args.js';
import { onInterrupt } from './interrupt.js';
import { addTrainFlags, formatAccuracy, trainJob, type TrainFlags } from './train.js';

/** The article's cast: the ReLU family and the two saturating activations it cures. */
export const DEFAULT_ACTIVATIONS = ['relu', 'leakyRelu', 'prelu', 'swish', 'tanh', 'sigmoid'];

/** Epochs 0, 10 %, 50 % and 90 % of the way through: 0, 10, 50, 90 of 100, as the article logs them. */
export function defaultShownEpochs(epochs: number): number[] {
  return [...new Set([0, 0.1, 0.5, 0.9].map((f) => Math.floor(f * epochs)))].filter((e) => e < epochs);
}

/** A text table, left-aligned first column, right-aligned numbers, a rule under the header. */
export function table(header: string[], body: string[][]): string[] {
  const widths = header.map((h, j) => Math.max(h.length, ...body.map((r) => r[j]!.length)));
  const fmt = (r: string[]): string => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt)];
}

/**
 * One row per run: loss at each of `shownEpochs` (before that epoch's updates), the final
 * weights' training loss and accuracy, test (and validation) accuracy where there is one, the
 * first hidden layer's active fraction and the dead units of all hidden layers summed (both of
 * the last epoch; '-' when the events carry no diagnostics), and the training time. A run that
 * diverged says so in its final-loss column.
 */
export function compareTable(runs: readonly CompareRun[], shownEpochs: readonly number[]): string[] {
  const withInit = runs.some((r) => r.init !== undefined);
  const withTest = runs.some((r) => r.end?.testAccuracy !== undefined);
  const withValidation = runs.some((r) => r.end?.validationAccuracy !== undefined);
  const header = [
    'activation', ...(withInit ? ['init'] : []), ...shownEpochs.map((e) => `loss@${e}`), 'final loss', 'train acc',
    ...(withTest ? ['test acc'] : []), ...(withValidation ? ['val acc'] : []), 'active', 'dead', 'seconds',
  ];
  const body = runs.map((r) => {
    const lossAt = new Map(r.epochs.map((e) => [e.epoch, e.loss]));
    const layers = r.epochs.length === 0 ? undefined : epochLayers(r.epochs[r.epochs.length - 1]!);
    const active = layers?.[0]?.activeFraction;
    const dead = layers !== undefined && layers.length > 0 && layers.every((l) => l.deadUnits !== undefined)
      ? layers.reduce((s, l) => s + l.deadUnits!, 0) : undefined;
    const end = r.end;
    return [
      r.activation, ...(withInit ? [r.init ?? '-'] : []),
      ...shownEpochs.map((e) => orDash(lossAt.get(e), formatLoss)),
      end === undefined ? (r.error?.code === 'E_DIVERGED' ? 'diverged' : 'failed') : formatLoss(end.loss),
      orDash(end?.trainAccuracy, formatAccuracy),
      ...(withTest ? [orDash(end?.testAccuracy, formatAccuracy)] : []),
      ...(withValidation ? [orDash(end?.validationAccuracy, formatAccuracy)] : []),
      orDash(active, (v) => v.toFixed(3)), orDash(dead, String), orDash(end?.seconds, (v) => v.toFixed(3)),
    ];
  });
  return table(header, body);
}

/** Four decimals, as the article prints them; a diverging run's 3.2e+24 in exponent form. */
function formatLoss(v: number): string {
  return Math.abs(v) < 1e5 ? v.toFixed(4) : v.toExponential(2);
}

function orDash(v: number | undefined, format: (v: number) => string): string {
  return v === undefined || !Number.isFinite(v) ? '-' : format(v);
}

interface CompareFlags extends TrainFlags {
  activations: string[];
  showEpochs?: number[];
  plot?: string;
}

/** A run's record for `--log-format json`: `{"event":"compare",...}`. */
function compareEvent(run: CompareRun, notes: TrainEvent[]): Record<string, unknown> {
  const layers = run.epochs.map(epochLayers);
  const { event: _event, ...end } = run.end ?? { event: 'end' };
  return {
    event: 'compare', activation: run.activation, init: run.init,
    epochs: run.epochs.map((e) => e.loss), trainAccuracy: run.epochs.map((e) => e.trainAccuracy),
    ...(layers.length > 0 && layers.every((l) => l !== undefined) && { layers }),
    ...(notes.length > 0 && { warnings: notes }),
    ...(run.end !== undefined && { end }),
    ...(run.error !== undefined && { error: run.error }),
  };
}

/** The lines under the text table: each run's warnings, and why a run stopped early. */
function noteLines(run: CompareRun, notes: TrainEvent[]): string[] {
  const lines = notes.map((n) => {
    const message: unknown = 'message' in n ? n.message : undefined;
    return `${run.activation}: ${typeof message === 'string' ? message : JSON.stringify(n)}`;
  });
  if (run.error !== undefined) lines.push(`${run.activation}: ${run.error.message} [${run.error.code}]`);
  return lines;
}

const JSON_HELP = `
--log-format json writes NDJSON on stdout: one line per activation, as its run ends,
  {"event":"compare","activation":"relu","init":"heNormal","epochs":[loss per epoch],
   "trainAccuracy":[per epoch],"layers":[per epoch: per hidden layer {activeFraction,deadUnits,
   gradNorm,updateRatio,preActivationMean,preActivationStd}],"warnings":[warning events],
   "end":{epochs,loss,trainAccuracy,testLoss,testAccuracy,seconds,...}}
  ("end" is replaced by "error":{code,message} for a run that diverged), then
  {"event":"end","activations":[...],"seconds":total}.

In the text table, "active" is the share of the first hidden layer's outputs > 0 and "dead" the
units of all hidden layers (summed) whose output was <= 0 for every row, both over the last
epoch. A run that diverges is reported as such and the others still run. --save DIR saves each
run as DIR/<activation>. Every other flag is quiver train's, applied to every run.`;

export function registerCompare(program: Command): void {
  const command = addTrainFlags(program
    .command('compare')
    .description('train the same network once per hidden activation and compare them in one table (and chart)'))
    .option('--activations <names>', `activations to compare, comma-separated (${Object.keys(ACTIVATIONS).join(', ')})`,
      nameList('--activations'), DEFAULT_ACTIVATIONS)
    .option('--show-epochs <list>', 'epochs whose loss the table shows (default: 0 and 10, 50, 90 % of the run)', integerList('--show-epochs', 0));
  // Should quiver train's flags come to include --plot (one run's chart), here it names the comparison's.
  if (!command.options.some((o) => o.long === '--plot')) {
    command.option('--plot <file>', 'write loss curves and accuracies as a chart: FILE.png or FILE.svg', (v: string) => { plotFormat(v); return v; });
  }
  command
    .addHelpText('after', JSON_HELP)
    .action(async (flags: CompareFlags, cmd: Command) => {
      if (cmd.getOptionValueSource('activation') === 'cli') {
        throw new ConfigError('E_CONFIG', 'quiver compare sets the activation of each run: give --activations, not --activation');
      }
      if (flags.plot !== undefined) plotFormat(flags.plot);
      const activations = flags.activations.map(activationName);
      const twice = activations.find((a, i) => activations.indexOf(a) !== i);
      if (twice !== undefined) throw new ConfigError('E_CONFIG', `--activations names ${twice} twice`);
      const shown = flags.showEpochs === undefined ? defaultShownEpochs(flags.epochs) : [...new Set(flags.showEpochs)].sort((a, b) => a - b);
      const late = shown.find((e) => e >= flags.epochs);
      if (late !== undefined) throw new ConfigError('E_CONFIG', `--show-epochs: epoch ${late} is past the last one (--epochs ${flags.epochs} counts from 0)`);

      const write = (line: string): void => { process.stdout.write(line + '\n'); };
      const json = flags.logFormat === 'json';
      const stop = onInterrupt('step');
      const started = performance.now();
      const runs: CompareRun[] = [];
      const notes: TrainEvent[][] = [];
      try {
        for (const [i, activation] of activations.entries()) {
          if (stop.signal.aborted) break;
          if (!json && process.stderr.isTTY) process.stderr.write(`quiver: training ${activation} (${i + 1}/${activations.length})\n`);
          const run: CompareRun = {
            activation, epochs: [],
            init: flags.initFrom !== undefined ? basename(flags.initFrom) : flags.init ?? ACTIVATIONS[activation].defaultInitializer,
          };
          const own: TrainEvent[] = [];
          const { plot: _plot, activations: _a, showEpochs: _s, ...train } = flags;
          const job: TrainFlags = { ...train, activation: [activation], ...(flags.save !== undefined && { save: join(flags.save, activation) }) };
          try {
            // Epochs are kept as they come, so a run that diverges still shows the ones before.
            const { history } = await trainJob(job, (e) => {
              if (e.event === 'epoch') run.epochs.push(e);
              else if (e.event !== 'end') own.push(e);
            }, stop.signal);
            run.end = history.end;
          } catch (e) {
            if (!(e instanceof DivergenceError)) throw e;
            run.error = { code: e.code, message: e.message };
          }
          runs.push(run);
          notes.push(own);
          if (json) write(JSON.stringify(compareEvent(run, own)));
        }
      } finally {
        stop.release();
      }
      const seconds = (performance.now() - started) / 1000;
      if (json) {
        write(JSON.stringify({ event: 'end', activations: runs.map((r) => r.activation), seconds, ...(stop.signal.aborted && { interrupted: true }) }));
      } else {
        for (const line of compareTable(runs, shown)) write(line);
        const lines = runs.flatMap((r, i) => noteLines(r, notes[i]!));
        if (lines.length > 0) write('');
        for (const line of lines) write(line);
      }
      if (flags.plot !== undefined && runs.length > 0) await plotCompare(runs, flags.plot);
      if (stop.signal.aborted) process.exitCode = 130;
    });
}
