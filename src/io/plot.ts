/**
 * Charts of training runs: vega-lite specs, compiled to vega and rendered headlessly (no browser,
 * no canvas, no network) to SVG, and from SVG to PNG with resvg. The file's extension picks the
 * format: `.svg` or `.png`.
 *
 * @example
 * await plotCompare(runs, 'out/compare.png');   // loss curves by activation, test accuracy bars
 * await plotRun(history, 'out/run.svg');         // one run's losses, per-layer gradient norms
 */
import { extname } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { ConfigError } from '../errors.js';
import type { EndEvent, EpochEvent, History } from '../pipeline/train.js';
import { writeFileAtomic } from './atomic.js';

/** One training run of a comparison: what `quiver compare` and `quiver seed` tabulate and plot. */
export interface CompareRun {
  /** The hidden layers' activation ('relu'); a row of the table, a colour of the chart. */
  activation: string;
  /** The hidden weights' initializer ('heNormal'), or the file they were loaded from. */
  init?: string;
  /** Epoch events, in order. */
  epochs: EpochEvent[];
  /** Absent when the run stopped with an error (a DivergenceError) before its end event. */
  end?: EndEvent;
  /** Why the run stopped early, when it did. */
  error?: { code: string; message: string };
}

/**
 * Per hidden layer diagnostics that epoch events may carry (`layers`, one entry per hidden
 * layer, first to last). Read as optional: a run without them plots and tabulates without them.
 */
export interface LayerFigures {
  /** Fraction of the layer's outputs > 0 over the epoch (the article's `T.mean(out > 0)`). */
  activeFraction?: number;
  /** Units whose output was zero for every row of the epoch. */
  deadUnits?: number;
  /** L2 norm of the layer's weight gradient. */
  gradNorm?: number;
  /** ‖update‖ / ‖W‖. */
  updateRatio?: number;
  preActivationMean?: number;
  preActivationStd?: number;
}

const DIAGNOSTIC_FIELDS = ['activeFraction', 'deadUnits', 'gradNorm', 'updateRatio', 'preActivationMean', 'preActivationStd'] as const;

/** The epoch's per-layer diagnostics, or undefined when the event carries none. */
export function epochLayers(e: EpochEvent): LayerFigures[] | undefined {
  const layers: unknown = 'layers' in e ? e.layers : undefined;
  if (!Array.isArray(layers)) return undefined;
  return layers.map((l: unknown) => {
    const out: LayerFigures = {};
    if (typeof l !== 'object' || l === null) return out;
    for (const k of DIAGNOSTIC_FIELDS) {
      const v: unknown = (l as Record<string, unknown>)[k];
      if (typeof v === 'number') out[k] = v;
    }
    return out;
  });
}

/** The validation and test losses an epoch event may carry beside its training loss. */
function epochLosses(e: EpochEvent): { validation?: number; test?: number } {
  const validation: unknown = 'validationLoss' in e ? e.validationLoss : undefined;
  const test: unknown = 'testLoss' in e ? e.testLoss : undefined;
  return {
    ...(typeof validation === 'number' && { validation }),
    ...(typeof test === 'number' && { test }),
  };
}

export type PlotFormat = 'svg' | 'png';
const FORMATS: Readonly<Record<string, PlotFormat>> = { '.svg': 'svg', '.png': 'png' };

/** The format a chart file's extension asks for; anything but .svg and .png is refused. */
export function plotFormat(file: string): PlotFormat {
  const format = FORMATS[extname(file).toLowerCase()];
  if (format === undefined) {
    throw new ConfigError('E_CONFIG', `plot file ${JSON.stringify(file)}: the name must end in ${Object.keys(FORMATS).join(' or ')}`);
  }
  return format;
}

/**
 * DejaVu Sans first: it is what resvg finds on a bare Linux; browsers fall back to their own
 * sans-serif. vega measures labels without a canvas by estimate, close enough for these.
 */
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const PANEL = { width: 340, height: 220 };

/** The vega-lite spec as SVG text. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use: every quiver command would otherwise carry vega's modules.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders `spec` into `file` (format by extension), written atomically. */
export async function writeChart(spec: TopLevelSpec, file: string): Promise<void> {
  const format = plotFormat(file);
  const svg = await renderSvg(spec);
  if (format === 'svg') return writeFileAtomic(file, svg);
  const { Resvg } = await import('@resvg/resvg-js');
  const png = new Resvg(svg, {
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  }).render().asPng();
  await writeFileAtomic(file, png);
}

/** Loss curves, one colour per activation; accuracy bars; first-layer diagnostics if present. */
export function compareSpec(runs: readonly CompareRun[]): TopLevelSpec {
  const activations = runs.map((r) => r.activation);
  const color = { field: 'activation', type: 'nominal', scale: { domain: activations }, sort: activations } as const;
  const loss = runs.flatMap((r) => r.epochs.filter((e) => Number.isFinite(e.loss)).map((e) => ({ activation: r.activation, epoch: e.epoch, loss: e.loss })));
  // Test accuracy when every finished run has one; else validation, else training accuracy.
  const ended = runs.filter((r) => r.end !== undefined);
  const split = ended.length > 0 && ended.every((r) => r.end!.testAccuracy !== undefined) ? 'test'
    : ended.length > 0 && ended.every((r) => r.end!.validationAccuracy !== undefined) ? 'validation' : 'train';
  const accuracy = ended.map((r) => ({
    activation: r.activation,
    accuracy: split === 'test' ? r.end!.testAccuracy! : split === 'validation' ? r.end!.validationAccuracy! : r.end!.trainAccuracy,
  }));
  const top = {
    hconcat: [
      {
        ...PANEL, title: 'training loss', data: { values: loss }, mark: { type: 'line', point: loss.length <= 60, clip: true },
        encoding: { x: { field: 'epoch', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative', scale: lossScale(loss) }, color },
      },
      {
        width: Math.max(120, 40 * activations.length), height: PANEL.height, title: `${split} accuracy`, data: { values: accuracy },
        encoding: {
          x: { field: 'activation', type: 'nominal', sort: activations, axis: { labelAngle: -30 } },
          y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] } },
        },
        layer: [
          { mark: 'bar', encoding: { color } },
          { mark: { type: 'text', dy: -6 }, encoding: { text: { field: 'accuracy', type: 'quantitative', format: '.3f' } } },
        ],
      },
    ],
  };
  const first = runs.flatMap((r) => r.epochs.flatMap((e) => {
    const l = epochLayers(e)?.[0];
    return l === undefined ? [] : [{ activation: r.activation, epoch: e.epoch, ...l }];
  }));
  const panels: object[] = [top];
  if (first.length > 0) panels.push({ hconcat: diagnosticPanels(first, color, 'first hidden layer') });
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: { font: FONT }, background: 'white', vconcat: panels } as TopLevelSpec;
}

/** A log scale when the losses span over two decades (a run that diverges), else linear. */
function lossScale(values: readonly { loss: number }[]): object {
  const finite = values.map((v) => v.loss).filter((v) => Number.isFinite(v) && v > 0);
  const wide = finite.length > 0 && Math.max(...finite) > 100 * Math.min(...finite);
  return wide ? { type: 'log' } : { zero: false };
}

/** Active fraction and gradient norm (log scale; zeros have no place on it) per epoch. */
function diagnosticPanels(values: Record<string, unknown>[], color: object, of: string): object[] {
  const x = { field: 'epoch', type: 'quantitative' };
  const panels: object[] = [];
  const active = values.filter((v) => typeof v.activeFraction === 'number');
  if (active.length > 0) {
    panels.push({
      ...PANEL, title: `active fraction, ${of}`, data: { values: active }, mark: { type: 'line', clip: true },
      encoding: { x, y: { field: 'activeFraction', type: 'quantitative', title: 'active fraction', scale: { domain: [0, 1] } }, color },
    });
  }
  const grad = values.filter((v) => typeof v.gradNorm === 'number' && v.gradNorm > 0 && Number.isFinite(v.gradNorm));
  if (grad.length > 0) {
    panels.push({
      ...PANEL, title: `weight gradient norm, ${of}`, data: { values: grad }, mark: { type: 'line', clip: true },
      encoding: { x, y: { field: 'gradNorm', type: 'quantitative', title: 'gradient L2 norm', scale: { type: 'log' } }, color },
    });
  }
  return panels;
}

/** One run: training loss (and validation/test loss when present); per-layer diagnostics if present. */
export function runSpec(history: History): TopLevelSpec {
  const loss: { series: string; epoch: number; loss: number }[] = [];
  for (const e of history.epochs) {
    loss.push({ series: 'train', epoch: e.epoch, loss: e.loss });
    const { validation, test } = epochLosses(e);
    if (validation !== undefined) loss.push({ series: 'validation', epoch: e.epoch, loss: validation });
    if (test !== undefined) loss.push({ series: 'test', epoch: e.epoch, loss: test });
  }
  // The end event's losses are of the final weights, after the last epoch's updates.
  const last = history.epochs.length === 0 ? 0 : history.epochs[history.epochs.length - 1]!.epoch + 1;
  const final: { series: string; epoch: number; loss: number }[] = [];
  if (history.end.validationLoss !== undefined) final.push({ series: 'validation (final)', epoch: last, loss: history.end.validationLoss });
  if (history.end.testLoss !== undefined) final.push({ series: 'test (final)', epoch: last, loss: history.end.testLoss });
  const series = { field: 'series', type: 'nominal', title: null } as const;
  const x = { field: 'epoch', type: 'quantitative' } as const;
  const y = { field: 'loss', type: 'quantitative', scale: lossScale([...loss, ...final]) } as const;
  const panels: object[] = [{
    ...PANEL, title: 'loss',
    layer: [
      { data: { values: loss }, mark: 'line', encoding: { x, y, color: series } },
      ...(final.length === 0 ? [] : [{ data: { values: final }, mark: { type: 'point', filled: true, size: 60 }, encoding: { x, y, color: series, shape: series } }]),
    ],
  }];
  const perLayer = history.epochs.flatMap((e) => (epochLayers(e) ?? []).map((l, i) => ({ layer: `hidden ${i + 1}`, epoch: e.epoch, ...l })));
  if (perLayer.length > 0) panels.push(...diagnosticPanels(perLayer, { field: 'layer', type: 'nominal', title: 'layer' }, 'per layer'));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: { font: FONT }, background: 'white',
    hconcat: panels, resolve: { scale: { color: 'independent', shape: 'independent' } },
  } as TopLevelSpec;
}

/** Writes the comparison chart of `runs` to `file` (.svg or .png). */
export function plotCompare(runs: readonly CompareRun[], file: string): Promise<void> {
  return writeChart(compareSpec(runs), file);
}

/** Writes one run's chart to `file` (.svg or .png). */
export function plotRun(history: History, file: string): Promise<void> {
  return writeChart(runSpec(history), file);
}
