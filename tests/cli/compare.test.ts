import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareTable, defaultShownEpochs } from '../../src/cli/compare.js';
import type { CompareRun } from '../../src/io/plot.js';
import type { EpochEvent } from '../../src/pipeline/train.js';
import { DATA, ndjson, quiver, type Run } from '../helpers/cli.js';
import { xmlElements } from '../helpers/xml.js';

const TRAIN = path.join(DATA, 'seed-train.arrow');
const TEST = path.join(DATA, 'seed-test.arrow');
const ACTIVATIONS = ['relu', 'tanh', 'sigmoid'];
/** Few epochs, a seed of its own: the same settings for compare and for each `quiver train`. */
const SETTINGS = ['--train', TRAIN, '--test', TEST, '--epochs', '6', '--seed', '7'];

interface LayerFigures { activeFraction: number; deadUnits: number; gradNorm: number | null }
interface TrainEpoch { epoch: number; loss: number; trainAccuracy: number; layers?: LayerFigures[] }
interface TrainEnd { loss: number; trainAccuracy: number; testAccuracy: number }

/** The table's rows as cells, keyed by the header. */
function tableRows(stdout: string): { header: string[]; rows: Record<string, string>[] } {
  const lines = stdout.trimEnd().split('\n');
  const at = lines.findIndex((l) => l.startsWith('activation'));
  const header = lines[at]!.split(/\s{2,}/);
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(at + 2)) {
    if (line.trim() === '') break;
    const cells = line.split(/\s{2,}/).map((c) => c.trim());
    rows.push(Object.fromEntries(header.map((h, j) => [h, cells[j]!])));
  }
  return { header, rows };
}

let dir: string;
let text: Run;
let json: Run;
const trained = new Map<string, { epochs: TrainEpoch[]; end: TrainEnd }>();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'quiver-compare-'));
  const runs = await Promise.all([
    quiver(['compare', ...SETTINGS, '--activations', ACTIVATIONS.join(','), '--plot', path.join(dir, 'x.png'), '--save', path.join(dir, 'models')]),
    quiver(['compare', ...SETTINGS, '--activations', ACTIVATIONS.join(','), '--plot', path.join(dir, 'x.svg'), '--log-format', 'json']),
    ...ACTIVATIONS.map((a) => quiver(['train', ...SETTINGS, '--activation', a, '--log-format', 'json'])),
  ]);
  [text, json] = runs as [Run, Run];
  ACTIVATIONS.forEach((a, i) => {
    const r = runs[i + 2]!;
    expect(r.status, r.stderr).toBe(0);
    const events = ndjson(r.stdout);
    trained.set(a, {
      epochs: events.filter((e) => e.event === 'epoch') as unknown as TrainEpoch[],
      end: events.find((e) => e.event === 'end') as unknown as TrainEnd,
    });
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('quiver compare', () => {
  it('prints one table row per activation, in the order given, with the loss at epochs spread over the run', () => {
    expect(text.status, text.stderr).toBe(0);
    const { header, rows } = tableRows(text.stdout);
    expect(rows.map((r) => r.activation)).toEqual(ACTIVATIONS);
    expect(header).toEqual(['activation', 'init', 'loss@0', 'loss@3', 'loss@5', 'final loss', 'train acc', 'test acc', 'active', 'dead', 'seconds']);
    expect(rows.map((r) => r.init)).toEqual(['heNormal', 'glorotUniform', 'glorotUniform']); // each its own default
  });

  it('gives each activation the numbers a separate quiver train run of the same settings gives', () => {
    const { rows } = tableRows(text.stdout);
    for (const row of rows) {
      const t = trained.get(row.activation!)!;
      expect(row['loss@0']).toBe(t.epochs[0]!.loss.toFixed(4));
      expect(row['loss@5']).toBe(t.epochs[5]!.loss.toFixed(4));
      expect(row['final loss']).toBe(t.end.loss.toFixed(4));
      expect(Number(row['test acc'])).toBeCloseTo(t.end.testAccuracy, 4);
      expect(Number(row['train acc'])).toBeCloseTo(t.end.trainAccuracy, 4);
    }
    // Not all the same row: the activations do differ, so the match above means something.
    expect(new Set(rows.map((r) => r['loss@0'])).size).toBe(ACTIVATIONS.length);
  });

  it('shows the first hidden layer\'s active fraction and the dead units of the last epoch, as train reports them', () => {
    const { rows } = tableRows(text.stdout);
    for (const row of rows) {
      const last = trained.get(row.activation!)!.epochs.at(-1)!;
      expect(last.layers, 'epoch events carry per-layer diagnostics').toBeDefined();
      expect(row.active).toBe(last.layers![0]!.activeFraction.toFixed(3));
      expect(row.dead).toBe(String(last.layers!.reduce((s, l) => s + l.deadUnits, 0)));
    }
  });

  it('writes a valid PNG with --plot x.png, and saves each run as DIR/<activation> with --save', () => {
    const png = readFileSync(path.join(dir, 'x.png'));
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(png.length).toBeGreaterThan(1024);
    expect(readdirSync(path.join(dir, 'models')).sort()).toEqual([...ACTIVATIONS].sort());
    for (const a of ACTIVATIONS) expect(existsSync(path.join(dir, 'models', a, 'model.json'))).toBe(true);
  });

  it('writes a well-formed SVG with --plot x.svg', () => {
    const svg = readFileSync(path.join(dir, 'x.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(xmlElements(svg).length).toBeGreaterThan(50);
    expect(statSync(path.join(dir, 'x.svg')).size).toBeGreaterThan(1024);
    for (const a of ACTIVATIONS) expect(svg).toContain(`>${a}</text>`);
  });

  it('writes one compare event per activation with every epoch\'s loss, bit for bit those of quiver train, then an end event', () => {
    expect(json.status, json.stderr).toBe(0);
    const events = ndjson(json.stdout);
    expect(events.map((e) => e.event)).toEqual(['compare', 'compare', 'compare', 'end']);
    expect(events.at(-1)!.activations).toEqual(ACTIVATIONS);
    for (const e of events.slice(0, 3)) {
      const t = trained.get(e.activation as string)!;
      expect(e.epochs).toEqual(t.epochs.map((x) => x.loss));
      expect((e.end as TrainEnd).testAccuracy).toBe(t.end.testAccuracy);
      expect((e.end as TrainEnd).loss).toBe(t.end.loss);
      expect(e.layers).toEqual(t.epochs.map((x) => x.layers));
    }
  });

  it('chooses the table\'s epochs with --show-epochs, and keeps the others running when one diverges', async () => {
    const r = await quiver(['compare', '--train', TRAIN, '--epochs', '8', '--lr', '1e6', '--activations', 'relu,sigmoid', '--show-epochs', '1,7']);
    expect(r.status, r.stderr).toBe(0);
    const { header, rows } = tableRows(r.stdout);
    expect(header.filter((h) => h.startsWith('loss@'))).toEqual(['loss@1', 'loss@7']);
    expect(header).not.toContain('test acc');
    expect(rows.map((x) => x.activation)).toEqual(['relu', 'sigmoid']);
    expect(rows[0]!['final loss']).toBe('diverged');
    expect(rows[0]!['loss@7']).toBe('-');
    expect(rows[1]!['final loss']).toMatch(/^[\d.e+]+$/);
    expect(r.stdout).toMatch(/^relu: .*\[E_DIVERGED\]$/m);
  });

  it.each([
    { name: 'a plot file that is neither .svg nor .png', args: ['--plot', 'chart.pdf'], code: 'E_CONFIG', message: /chart\.pdf.*\.svg or \.png/ },
    { name: '--activation instead of --activations', args: ['--activation', 'tanh'], code: 'E_CONFIG', message: /--activations, not --activation/ },
    { name: 'an activation named twice', args: ['--activations', 'relu,tanh,relu'], code: 'E_CONFIG', message: /relu twice/ },
    { name: 'an unknown activation', args: ['--activations', 'relu,bogus'], code: 'E_UNKNOWN_ACTIVATION', message: /"bogus"/ },
    { name: 'a shown epoch past the last', args: ['--epochs', '5', '--show-epochs', '0,5'], code: 'E_CONFIG', message: /epoch 5 is past the last/ },
  ])('refuses $name before training, with one line and exit 2', async ({ args, code, message }) => {
    const r = await quiver(['compare', '--train', TRAIN, ...args], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`\\[${code}\\]\\n$`));
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(readdirSync(dir).filter((f) => f.startsWith('chart'))).toEqual([]);
  });

  it('documents its JSON events in --help', async () => {
    const r = await quiver(['compare', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('{"event":"compare","activation":"relu"');
    expect(r.stdout).toContain('--show-epochs');
    expect(r.stdout).toContain('--lr'); // quiver train's flags
  });
});

describe('compareTable', () => {
  const epoch = (e: number, loss: number): EpochEvent => ({ event: 'epoch', epoch: e, loss, trainAccuracy: 0.5 }) as EpochEvent;

  it('shows - where the epoch events carry no diagnostics or the run never got that far', () => {
    const runs: CompareRun[] = [
      { activation: 'relu', epochs: [epoch(0, 0.7), epoch(1, 0.6)], end: { event: 'end', epochs: 2, loss: 0.55, trainAccuracy: 0.75, seconds: 0.5 } },
      { activation: 'tanh', epochs: [epoch(0, 0.65)], error: { code: 'E_DIVERGED', message: 'the loss became NaN' } },
    ];
    const lines = compareTable(runs, [0, 1]);
    expect(lines[0]!.split(/\s+/)).toEqual(['activation', 'loss@0', 'loss@1', 'final', 'loss', 'train', 'acc', 'active', 'dead', 'seconds']);
    expect(lines[2]!.split(/\s+/)).toEqual(['relu', '0.7000', '0.6000', '0.5500', '0.75', '-', '-', '0.500']);
    expect(lines[3]!.split(/\s+/)).toEqual(['tanh', '0.6500', '-', 'diverged', '-', '-', '-', '-']);
  });

  it('spreads the default epochs over the run: 0, 10, 50, 90 of 100, and never past the last', () => {
    expect(defaultShownEpochs(100)).toEqual([0, 10, 50, 90]);
    expect(defaultShownEpochs(6)).toEqual([0, 3, 5]);
    expect(defaultShownEpochs(1)).toEqual([0]);
  });
});

describe('quiver seed', () => {
  it('prints the article\'s lines, then the side-by-side table through compareTable', async () => {
    const r = await quiver(['seed']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Epoch 0, Loss: 0.7084\n');
    expect(r.stdout).toContain('Epoch 90, Loss: 0.4311\n');
    expect(r.stdout).toContain('Test accuracy: 0.835\n');
    const { header, rows } = tableRows(r.stdout);
    expect(header).toEqual(['activation', 'loss@0', 'loss@10', 'loss@50', 'loss@90', 'final loss', 'train acc', 'test acc', 'active', 'dead', 'seconds']);
    expect(rows.map((x) => x.activation)).toEqual(['relu', 'tanh', 'sigmoid']);
    expect(rows[0]!['loss@0']).toBe('0.7084');
    expect(rows[0]!['test acc']).toBe('0.835');
  });
});
