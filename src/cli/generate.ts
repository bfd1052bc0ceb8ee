/**
 * `quiver generate`: a synthetic classification data set as an Arrow IPC file, by scikit-learn's
 * make_classification (see src/io/generate.ts). Flag defaults are sklearn's, except --rows and
 * --informative (sklearn: 100 and 2) and --seed (sklearn draws one).
 *
 * @example
 * quiver generate --out train.arrow --rows 100000 --features 20 --informative 10 --seed 7
 */
import type { Command } from 'commander';
import { writeClassificationArrow } from '../io/generate.js';
import { decimalIn, integerAtLeast } from './args.js';

interface GenerateFlags {
  out: string;
  rows: number;
  features: number;
  informative: number;
  redundant?: number;
  repeated: number;
  classes: number;
  clustersPerClass: number;
  flipY: number;
  classSep: number;
  seed: number;
  batchRows: number;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('write a synthetic classification data set (scikit-learn make_classification) as an Arrow IPC file')
    .requiredOption('--out <file>', 'Arrow IPC file to write')
    .option('--rows <n>', 'number of rows', integerAtLeast('--rows', 1), 1000)
    .option('--features <n>', 'number of feature columns', integerAtLeast('--features', 1), 20)
    .option('--informative <n>', 'columns that carry the class signal', integerAtLeast('--informative', 1), 10)
    // No commander default: the library's is 2, or fewer when --features leaves no room.
    .option('--redundant <n>', 'linear combinations of informative columns (default: 2)',
      integerAtLeast('--redundant', 0))
    .option('--repeated <n>', 'copies of informative or redundant columns', integerAtLeast('--repeated', 0), 0)
    .option('--classes <n>', 'number of classes', integerAtLeast('--classes', 2), 2)
    .option('--clusters-per-class <n>', 'Gaussian clusters per class', integerAtLeast('--clusters-per-class', 1), 2)
    .option('--flip-y <x>', 'fraction of labels replaced at random', decimalIn('--flip-y', 0, 1), 0.01)
    .option('--class-sep <x>', 'half the side of the hypercube of centroids', decimalIn('--class-sep', 0, Infinity), 1.0)
    .option('--seed <n>', 'seed of every random draw', integerAtLeast('--seed', 0), 42)
    .option('--batch-rows <n>', 'rows per Arrow record batch', integerAtLeast('--batch-rows', 1), 65536)
    .action(async (flags: GenerateFlags) => {
      await writeClassificationArrow(flags.out, {
        rows: flags.rows,
        features: flags.features,
        informative: flags.informative,
        redundant: flags.redundant,
        repeated: flags.repeated,
        classes: flags.classes,
        clustersPerClass: flags.clustersPerClass,
        flipY: flags.flipY,
        classSep: flags.classSep,
        seed: flags.seed,
        batchRows: flags.batchRows,
      });
      process.stderr.write(`wrote ${flags.rows} rows x ${flags.features + 1} columns to ${flags.out}\n`);
    });
}
