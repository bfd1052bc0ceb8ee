/**
 * `quiver inspect DIR`: what a saved model is, read from its directory with every load-time
 * check (so a weights file that fails its SHA-256, or a model.json that does not hold
 * together, is an error, exit 2): the layers and their parameter counts, classes, features,
 * the options it was trained with, its final metrics, the files' sizes and the hash.
 *
 * @example
 * quiver inspect out/seed
 * quiver inspect out/seed --log-format json | jq .totalParams
 */
import type { Command } from 'commander';
import { MODEL_JSON, openModel, WEIGHTS_FILE, type ModelFiles } from '../io/modelFile.js';
import { trainable } from '../nn/params.js';
import { oneOf } from './args.js';

export interface InspectFlags {
  logFormat: 'text' | 'json';
}

export interface LayerSummary {
  index: number;
  units: number;
  activation: string;
  batchNorm: boolean;
  dropout: number;
  /** Learned parameters: weight, bias, prelu's alpha, batch norm's gamma and beta. */
  params: number;
  /** Batch norm's running mean and variance: saved with the weights, not learned by the optimizer. */
  buffers: number;
}

/** The one JSON object `--log-format json` prints. */
export function inspectEvent(dir: string, files: ModelFiles): Record<string, unknown> {
  const { model, json, sizes } = files;
  const layers: LayerSummary[] = model.spec.layers.map((l, i) => {
    const own = model.layout.tensors.filter((t) => t.layer === i);
    const count = (learned: boolean): number => own.filter((t) => trainable(t) === learned).reduce((s, t) => s + t.length, 0);
    return {
      index: i, units: l.units, activation: l.activation, batchNorm: l.batchNorm === true, dropout: l.dropout ?? 0,
      params: count(true), buffers: count(false),
    };
  });
  return {
    event: 'inspect',
    model: dir,
    quiverVersion: json.quiverVersion,
    formatVersion: json.formatVersion,
    inputs: model.spec.inputs,
    classes: model.spec.classes,
    loss: model.spec.loss,
    ...(json.classLabels !== undefined && { classLabels: json.classLabels }),
    ...(json.label !== undefined && { label: json.label }),
    features: model.spec.inputs,
    ...(json.features !== undefined && { featureNames: json.features }),
    ...(json.featureTypes !== undefined && { featureTypes: json.featureTypes }),
    standardize: json.standardize !== undefined,
    layers,
    totalParams: layers.reduce((s, l) => s + l.params, 0),
    totalBuffers: layers.reduce((s, l) => s + l.buffers, 0),
    ...(json.training !== undefined && { training: json.training }),
    ...(json.metrics !== undefined && { metrics: json.metrics }),
    ...(json.history !== undefined && { history: json.history }),
    files: { [MODEL_JSON]: sizes.modelJson, [WEIGHTS_FILE]: sizes.weights },
    weightsSha256: json.weightsSha256,
    hash: 'ok',
  };
}

const number = (v: unknown): string => (typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toFixed(4))) : String(v));
const pairs = (o: Record<string, unknown>): string => Object.entries(o).filter(([k]) => k !== 'event').map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v !== null && typeof v === 'object' ? JSON.stringify(v) : number(v)}`).join(' ');

/** The text report. */
export function inspectText(e: Record<string, unknown>): string[] {
  const layers = e['layers'] as LayerSummary[];
  const lines = [`Model ${String(e['model'])} (written by quiver ${String(e['quiverVersion'])}, format ${String(e['formatVersion'])})`];
  const labels = e['classLabels'] as unknown[] | undefined;
  lines.push(`${String(e['features'])} features → ${String(e['classes'])} classes (${String(e['loss'])})${labels ? `, labels ${labels.map(String).join(', ')}` : ''}${e['label'] !== undefined ? `, label column ${String(e['label'])}` : ''}`);
  const names = e['featureNames'] as string[] | undefined;
  if (names) lines.push(`features: ${names.length <= 12 ? names.join(', ') : `${names.slice(0, 10).join(', ')}, … ${names[names.length - 1]}`}`);
  lines.push(`standardized inputs: ${e['standardize'] === true ? 'yes' : 'no'}`);
  const head = ['layer', 'units', 'activation', 'batch norm', 'dropout', 'params'];
  const rows = layers.map((l) => [String(l.index), String(l.units), l.activation, l.batchNorm ? 'yes' : 'no', String(l.dropout), String(l.params)]);
  rows.push(['total', '', '', '', '', String(e['totalParams'])]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const pad = (cells: string[]): string => cells.map((c, i) => (i === 0 || i === 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  lines.push(pad(head), ...rows.map(pad));
  if ((e['totalBuffers'] as number) > 0) lines.push(`batch-norm running statistics: ${String(e['totalBuffers'])} values`);
  if (e['training'] !== undefined) lines.push(`training: ${pairs(e['training'] as Record<string, unknown>)}`);
  if (e['metrics'] !== undefined) lines.push(`final metrics: ${pairs(e['metrics'] as Record<string, unknown>)}`);
  const h = e['history'] as Record<string, number> | undefined;
  if (h !== undefined) {
    lines.push(`history: ${h['epochs']} epochs, loss ${number(h['firstLoss'])} → ${number(h['finalLoss'])} (lowest ${number(h['minLoss'])} at epoch ${h['minLossEpoch']})`);
  }
  const files = e['files'] as Record<string, number>;
  lines.push(`files: ${Object.entries(files).map(([f, b]) => `${f} ${b} bytes`).join(', ')}`);
  lines.push(`${WEIGHTS_FILE} SHA-256 ${String(e['weightsSha256'])}: OK`);
  return lines;
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('describe a saved model: layers, parameter counts, classes, training options, metrics, files, and check the weights\' hash')
    .argument('<dir>', 'model directory (model.json and weights.safetensors, from train --save)')
    .option('--log-format <format>', 'text, or json: one object {"event":"inspect",…} on stdout', oneOf('--log-format', ['text', 'json'] as const), 'text')
    .action(async (dir: string, flags: InspectFlags) => {
      const e = inspectEvent(dir, await openModel(dir));
      const lines = flags.logFormat === 'json' ? [JSON.stringify(e)] : inspectText(e);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
