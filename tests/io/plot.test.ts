import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { compareSpec, epochLayers, plotCompare, plotFormat, plotRun, runSpec, type CompareRun } from '../../src/io/plot.js';
import type { EndEvent, EpochEvent, History } from '../../src/pipeline/train.js';
import { xmlElements } from '../helpers/xml.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A made-up run: loss falling from `start`, optional per-layer diagnostics. */
function epochs(n: number, start: number, layers?: number): EpochEvent[] {
  return Array.from({ length: n }, (_, epoch) => ({
    event: 'epoch', epoch, loss: start * Math.exp(-epoch / 8), trainAccuracy: 0.5 + epoch / (4 * n), learningRate: 0.01,
    layers: Array.from({ length: layers ?? 0 }, (_, h) => ({
      activeFraction: 0.5 - 0.01 * epoch, deadUnits: h, gradNorm: 10 ** -(3 * h) * (1 + epoch), updateRatio: 1e-3,
      preActivationMean: 0, preActivationStd: 1,
    })),
    validationLoss: start * Math.exp(-epoch / 10) + 0.05,
  }) as EpochEvent);
}

function end(loss: number, testAccuracy?: number): EndEvent {
  return { event: 'end', epochs: 12, loss, trainAccuracy: 0.8, seconds: 0.1, ...(testAccuracy !== undefined && { testAccuracy, testLoss: loss + 0.1 }) };
}

const RUNS: CompareRun[] = [
  { activation: 'relu', init: 'heNormal', epochs: epochs(12, 0.7, 2), end: end(0.3, 0.835) },
  { activation: 'tanh', init: 'glorotUniform', epochs: epochs(12, 0.65, 2), end: end(0.4, 0.775) },
  { activation: 'sigmoid', init: 'glorotUniform', epochs: epochs(12, 0.68, 2), end: end(0.6, 0.755) },
];

let dir: string;
beforeAll(() => { dir = mkdtempSync(path.join(tmpdir(), 'quiver-plot-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the XML check the SVG tests rely on', () => {
  it('accepts a well-formed document and refuses broken ones', () => {
    expect(xmlElements('<?xml version="1.0"?><svg a="1"><g><text>a &amp; b</text></g><rect/></svg>')).toEqual(['svg', 'g', 'text', 'rect']);
    expect(() => xmlElements('<svg><g></svg>')).toThrow(/closes <g>/);
    expect(() => xmlElements('<svg><g>')).toThrow(/never closed/);
    expect(() => xmlElements('<svg a=1></svg>')).toThrow(/not well-formed/);
    expect(() => xmlElements('<svg>a & b</svg>')).toThrow(/bare &/);
    expect(() => xmlElements('<svg/><svg/>')).toThrow(/second root/);
  });
});

describe('plotCompare', () => {
  it('writes a PNG: the magic bytes, an IHDR of a chart-sized image, over 1 kB', async () => {
    const file = path.join(dir, 'compare.png');
    await plotCompare(RUNS, file);
    const png = readFileSync(file);
    expect(png.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBeGreaterThan(400); // width
    expect(png.readUInt32BE(20)).toBeGreaterThan(300); // height
    expect(png.length).toBeGreaterThan(1024);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]); // written atomically
  });

  it('writes a well-formed SVG naming every activation, with the diagnostics panels when epochs carry them', async () => {
    const file = path.join(dir, 'compare.svg');
    await plotCompare(RUNS, file);
    const svg = readFileSync(file, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(xmlElements(svg)[0]).toBe('svg');
    for (const a of ['relu', 'tanh', 'sigmoid']) expect(svg).toContain(`>${a}</text>`);
    expect(svg).toContain('test accuracy');
    expect(svg).toContain('active fraction, first hidden layer');
    expect(svg).toContain('weight gradient norm, first hidden layer');
  });

  it('leaves the diagnostics out when no epoch carries them, and shows training accuracy when there is no test', () => {
    const bare = RUNS.map((r) => ({ activation: r.activation, epochs: r.epochs.map(({ event, epoch, loss, trainAccuracy }) => ({ event, epoch, loss, trainAccuracy }) as EpochEvent), end: end(0.5) }));
    const spec = JSON.stringify(compareSpec(bare));
    expect(spec).not.toContain('active fraction');
    expect(spec).not.toContain('gradient');
    expect(spec).toContain('"train accuracy"');
  });

  it('plots one loss point per epoch per activation, in the order given', () => {
    const spec = compareSpec(RUNS) as unknown as { vconcat: { hconcat: { data: { values: { activation: string; loss: number }[] } }[] }[] };
    const loss = spec.vconcat[0]!.hconcat[0]!.data.values;
    expect(loss).toHaveLength(36);
    expect([...new Set(loss.map((p) => p.activation))]).toEqual(['relu', 'tanh', 'sigmoid']);
    expect(loss[0]!.loss).toBe(RUNS[0]!.epochs[0]!.loss);
  });

  it('refuses a file type other than .svg and .png before rendering anything', async () => {
    const file = path.join(dir, 'compare.pdf');
    const err = await plotCompare(RUNS, file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('E_CONFIG');
    expect((err as Error).message).toMatch(/compare\.pdf.*\.svg or \.png/);
    expect(readdirSync(dir).some((f) => f.startsWith('compare.pdf'))).toBe(false);
    expect(plotFormat('a/B.PNG')).toBe('png');
    expect(() => plotFormat('chart')).toThrow(/must end in \.svg or \.png/);
  });
});

describe('plotRun', () => {
  const history: History = { epochs: epochs(10, 0.7, 3), warnings: [], end: end(0.3, 0.8) } as History;

  it('draws the training and validation losses, the final test loss, and each layer\'s gradient norm on a log scale', async () => {
    const spec = JSON.stringify(runSpec(history));
    expect(spec).toMatch(/"gradNorm","type":"quantitative","title":"gradient L2 norm","scale":\{"type":"log"\}/);
    const file = path.join(dir, 'run.svg');
    await plotRun(history, file);
    const svg = readFileSync(file, 'utf8');
    xmlElements(svg);
    for (const s of ['>train</text>', '>validation</text>', '>test (final)</text>', '>hidden 1</text>', '>hidden 3</text>']) expect(svg).toContain(s);
  });

  it('draws only the loss panel for a run without diagnostics, and writes a PNG', async () => {
    const plain: History = { epochs: history.epochs.map(({ event, epoch, loss, trainAccuracy }) => ({ event, epoch, loss, trainAccuracy }) as EpochEvent), end: end(0.3) } as History;
    const spec = runSpec(plain) as unknown as { hconcat: unknown[] };
    expect(spec.hconcat).toHaveLength(1);
    const file = path.join(dir, 'run.png');
    await plotRun(plain, file);
    expect(readFileSync(file).subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    expect(statSync(file).size).toBeGreaterThan(1024);
  });
});

describe('epochLayers', () => {
  it('reads the per-layer figures, drops a null gradient norm, and is undefined without layers', () => {
    const e = { event: 'epoch', epoch: 0, loss: 1, trainAccuracy: 0.5, layers: [{ activeFraction: 0.25, deadUnits: 3, gradNorm: null }] } as unknown as EpochEvent;
    expect(epochLayers(e)).toEqual([{ activeFraction: 0.25, deadUnits: 3 }]);
    expect(epochLayers({ event: 'epoch', epoch: 0, loss: 1, trainAccuracy: 0.5 } as EpochEvent)).toBeUndefined();
  });
});
