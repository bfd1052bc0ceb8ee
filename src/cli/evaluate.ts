/**
 * `quiver evaluate`: a saved model's loss, accuracy, precision, recall, F1, ROC AUC (two
 * classes) and confusion matrix on a labelled Arrow file, read batch by batch.
 *
 * @example
 * quiver evaluate --model out/seed --input data/seed-test.arrow --log-format json
 * {"event":"evaluate","loss":0.41,"accuracy":0.835,"precision":0.83,…,"confusion":[[81,17],[16,86]],"rows":200}
 */
import type { Command } from 'commander';
import { evaluateSource, type EvaluateResult } from '../io/metrics.js';
import { loadModel } from '../io/modelFile.js';
import { classLabelsOf, type ClassLabel } from '../pipeline/predict.js';
import { openArrowFile } from '../pipeline/source.js';
import { oneOf } from './args.js';

export interface EvaluateFlags {
  model: string;
  input: string;
  label?: string;
  logFormat: 'text' | 'json';
}

export async function evaluateJob(flags: EvaluateFlags): Promise<{ result: EvaluateResult; classLabels: ClassLabel[] }> {
  const model = await loadModel(flags.model);
  const classLabels = classLabelsOf(model);
  const source = await openArrowFile(flags.input);
  try {
    const result = await evaluateSource(model, source, { file: flags.input, ...(flags.label !== undefined && { label: flags.label }) });
    return { result, classLabels };
  } finally {
    await source.close();
  }
}

/**
 * The one JSON line: macro-averaged precision, recall and F1 (the per-class figures follow
 * from the confusion matrix); auc only for two classes, null when one class is absent.
 */
export function evaluateEvent(r: EvaluateResult): Record<string, unknown> {
  return {
    event: 'evaluate', loss: r.loss, accuracy: r.accuracy, precision: r.precision, recall: r.recall, f1: r.f1,
    ...(r.auc !== undefined && { auc: r.auc }), confusion: r.confusion, rows: r.rows,
  };
}

const fixed = (v: number): string => v.toFixed(4);

/** The text report: a summary line, a per-class table, the AUC, the confusion matrix. */
export function evaluateText(r: EvaluateResult, classLabels: readonly ClassLabel[]): string[] {
  const names = classLabels.map(String);
  const pad = (cells: string[], widths: number[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const lines = [`Evaluated ${r.rows} rows: loss ${fixed(r.loss)}, accuracy ${fixed(r.accuracy)}`];
  const head = ['class', 'precision', 'recall', 'f1', 'support'];
  const rows = names.map((n, c) => [n, fixed(r.perClass.precision[c]!), fixed(r.perClass.recall[c]!), fixed(r.perClass.f1[c]!), String(r.perClass.support[c]!)]);
  rows.push(['macro avg', fixed(r.precision), fixed(r.recall), fixed(r.f1), String(r.rows)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  lines.push(pad(head, widths), ...rows.map((row) => pad(row, widths)));
  if (r.auc !== undefined) lines.push(`ROC AUC: ${r.auc === null ? 'undefined (the labels hold one class only)' : fixed(r.auc)}`);
  lines.push('Confusion matrix (rows: true class, columns: predicted class):');
  const cells = [['', ...names], ...r.confusion.map((row, t) => [names[t]!, ...row.map(String)])];
  const w = Math.max(...cells.flat().map((c) => c.length));
  lines.push(...cells.map((row) => pad(row, row.map(() => w))));
  return lines;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('a saved model\'s loss, accuracy, precision, recall, F1, ROC AUC and confusion matrix on a labelled Arrow file')
    .requiredOption('--model <dir>', 'model directory (model.json and weights.safetensors, from train --save)')
    .requiredOption('--input <file>', 'labelled data (Arrow IPC file or stream) with the model\'s feature columns')
    .option('--label <col>', 'label column (default: the model\'s)')
    .option('--log-format <format>', 'text, or json: one line {"event":"evaluate",…} on stdout', oneOf('--log-format', ['text', 'json'] as const), 'text')
    .action(async (flags: EvaluateFlags) => {
      const { result, classLabels } = await evaluateJob(flags);
      const lines = flags.logFormat === 'json' ? [JSON.stringify(evaluateEvent(result))] : evaluateText(result, classLabels);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
