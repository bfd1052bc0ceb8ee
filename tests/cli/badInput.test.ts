/**
 * The "bad input" list, walked through each command that reads data: `quiver train`
 * (a small file held in memory, the same streamed from disk with --cache-mb 0, and piped in on
 * stdin with --train -), `quiver predict` and `quiver evaluate`. Each case asserts exit status
 * 2, one stderr line ending in the error's code, a message naming the file, column and row
 * where they are known, nothing on stdout, and nothing left in the run's directory (no model,
 * no predictions, no temporary file). Cases covered the same way in train.test.ts and
 * predict.test.ts are not repeated here.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Int32, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batches, removeDir, table, tempDir, writeArrow, writeSchemaChange, type Column } from '../helpers/arrow.js';
import { MAIN, ROOT, ensureBuilt, quiver, type Run } from '../helpers/cli.js';

let dir: string;
let model: string;
const files: Record<string, string> = {};

/** f0, f1 (float32) and label (int32) for rows [from, from + rows), with `spoil` applied to each column. */
function columns(from: number, rows: number, spoil: (name: string, r: number) => number | null | undefined = () => undefined): Record<string, Column> {
  const value = (name: string, r: number): number | null => {
    const s = spoil(name, r);
    if (s !== undefined) return s;
    return name === 'label' ? r % 2 : Math.sin(r * (name === 'f0' ? 0.7 : 1.3)) + (name === 'f0' ? (r % 2) : 0);
  };
  return Object.fromEntries(['f0', 'f1', 'label'].map((name) => [name, Array.from({ length: rows }, (_, i) => value(name, from + i))]));
}

/** Two record batches of 5 rows: a spoilt row 5 or later is in the second. */
function twoBatches(name: string, spoil?: (column: string, r: number) => number | null | undefined): string {
  return writeArrow(dir, name, batches(table(columns(0, 5, spoil)), table(columns(5, 5, spoil))));
}

beforeAll(async () => {
  ensureBuilt();
  dir = tempDir();
  const good = writeArrow(dir, 'good.arrow', batches(...Array.from({ length: 4 }, (_, k) => table(columns(k * 50, 50)))));
  model = path.join(dir, 'model');
  const trained = await quiver(['train', '--train', good, '--epochs', '3', '--layers', '4', '--save', model]);
  expect(trained.status, trained.stderr).toBe(0);

  files.csv = path.join(dir, 'data.arrow');
  writeFileSync(files.csv, 'f0,f1,label\n1,2,0\n');
  const bytes = readFileSync(good);
  files.cut = path.join(dir, 'cut.arrow');
  writeFileSync(files.cut, bytes.subarray(0, bytes.length >> 1));
  const stream = tableToIPC(tableFromIPC(bytes), 'stream');
  files.cutStream = path.join(dir, 'cut.arrows');
  writeFileSync(files.cutStream, stream.subarray(0, stream.length >> 1));
  files.empty = writeArrow(dir, 'empty.arrow', columns(0, 0));
  files.noLabel = writeArrow(dir, 'no-label.arrow', { f0: [1, 2], f1: [3, 4], y: [0, 1] });
  files.noF1 = writeArrow(dir, 'no-f1.arrow', { f0: [1, 2], label: [0, 1] });
  files.stringF1 = writeArrow(dir, 'string-f1.arrow', { f0: [1, 2], f1: vectorFromArray(['a', 'b'], new Utf8()), label: [0, 1] });
  files.nan = twoBatches('nan.arrow', (c, r) => (c === 'f1' && r === 7 ? NaN : undefined));
  files.inf = twoBatches('inf.arrow', (c, r) => (c === 'f0' && r === 6 ? Infinity : undefined));
  files.negInf = twoBatches('neg-inf.arrow', (c, r) => (c === 'f1' && r === 8 ? -Infinity : undefined));
  files.nullFeature = twoBatches('null-feature.arrow', (c, r) => (c === 'f0' && r === 5 ? null : undefined));
  files.nullLabel = twoBatches('null-label.arrow', (c, r) => (c === 'label' && r === 9 ? null : undefined));
  // Rows 0..9 in two batches, then a third batch (row 10 on) whose f1 is Int32.
  const changed = table({ ...columns(10, 5), f1: vectorFromArray([1, 2, 3, 4, 5], new Int32()) });
  files.schema = writeSchemaChange(dir, 'schema.arrows', batches(table(columns(0, 5)), table(columns(5, 5))), changed);
});
afterAll(() => removeDir(dir));

type Command = 'train' | 'train streamed' | 'train stdin' | 'predict' | 'evaluate';

/** Runs `node dist/cli/main.js args` in `cwd` with `input` on stdin. */
function withStdin(args: string[], input: Buffer, cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [MAIN, ...args], { cwd, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
    child.stdin!.on('error', () => undefined); // the command may fail before it has read everything
    child.stdin!.end(input);
  });
}

let runs = 0;
/** Runs `command` on `file` in a fresh directory, which it must leave empty. */
async function run(command: Command, file: string, extra: string[]): Promise<{ r: Run; left: string[] }> {
  const cwd = path.join(dir, `run-${runs++}`);
  mkdirSync(cwd);
  let r: Run;
  const train = ['train', '--epochs', '2', '--layers', '4', '--log-format', 'json', '--save', path.join(cwd, 'model'), ...extra];
  if (command === 'train stdin') r = await withStdin([...train, '--train', '-'], readFileSync(file), cwd);
  else if (command === 'train') r = await quiver([...train, '--train', file], { cwd });
  else if (command === 'train streamed') r = await quiver([...train, '--cache-mb', '0', '--train', file], { cwd });
  else if (command === 'predict') r = await quiver(['predict', '--model', model, '--input', file, '--out', path.join(cwd, 'p.arrow'), ...extra], { cwd });
  else r = await quiver(['evaluate', '--model', model, '--input', file, ...extra], { cwd });
  return { r, left: readdirSync(cwd) };
}

interface Case {
  item: string;
  command: Command;
  file: string;
  extra?: string[];
  code: string;
  /** Matched against the message; `FILE` stands for the file's name as the message gives it. */
  message: string;
}

const cases: Case[] = [
  { item: 'a file that does not exist', command: 'evaluate', file: 'absent.arrow', code: 'E_NO_FILE', message: 'FILE: no such file' },
  { item: 'a file that does not exist', command: 'train streamed', file: 'absent.arrow', code: 'E_NO_FILE', message: 'FILE: no such file' },
  { item: 'a CSV renamed .arrow', command: 'train', file: 'csv', code: 'E_NOT_ARROW', message: 'FILE: not an Arrow IPC file or stream' },
  { item: 'a CSV renamed .arrow', command: 'train stdin', file: 'csv', code: 'E_NOT_ARROW', message: 'FILE: not an Arrow IPC file or stream' },
  { item: 'an IPC file cut off in the middle', command: 'train streamed', file: 'cut', code: 'E_CORRUPT_ARROW', message: 'FILE: cannot be read as Arrow.*cut off' },
  { item: 'an IPC stream cut off in the middle', command: 'train', file: 'cutStream', code: 'E_CORRUPT_ARROW', message: 'FILE: cannot be read as Arrow at record batch \\d+, it is cut off' },
  { item: 'an IPC stream cut off in the middle', command: 'train streamed', file: 'cutStream', code: 'E_CORRUPT_ARROW', message: 'FILE: cannot be read as Arrow at record batch \\d+, it is cut off' },
  { item: 'an IPC stream cut off in the middle', command: 'train stdin', file: 'cutStream', code: 'E_CORRUPT_ARROW', message: 'FILE: cannot be read as Arrow at record batch \\d+, it is cut off' },
  { item: 'an IPC stream cut off in the middle', command: 'evaluate', file: 'cutStream', code: 'E_CORRUPT_ARROW', message: 'FILE: cannot be read as Arrow at record batch \\d+, it is cut off' },
  { item: 'a file with no rows', command: 'train streamed', file: 'empty', code: 'E_NO_ROWS', message: 'FILE: has no rows' },
  { item: 'a file with no rows', command: 'train stdin', file: 'empty', code: 'E_NO_ROWS', message: 'FILE: has no rows' },
  { item: 'a missing label column', command: 'train streamed', file: 'noLabel', code: 'E_NO_LABEL', message: 'FILE: no label column "label" \\(columns: f0, f1, y\\)' },
  { item: 'a missing feature column', command: 'train streamed', file: 'noF1', extra: ['--features', 'f0,f1'], code: 'E_NO_COLUMN', message: 'FILE: no feature column "f1"' },
  { item: 'a string feature column', command: 'train streamed', file: 'stringF1', extra: ['--features', 'f0,f1'], code: 'E_NON_NUMERIC', message: 'FILE, column "f1": feature column has type Utf8, not a number' },
  { item: 'a string feature column', command: 'predict', file: 'stringF1', code: 'E_NON_NUMERIC', message: 'FILE, column "f1": feature column has type Utf8, not a number' },
  { item: 'a string feature column', command: 'evaluate', file: 'stringF1', code: 'E_NON_NUMERIC', message: 'FILE, column "f1": feature column has type Utf8, not a number' },
  { item: 'NaN in a feature', command: 'train streamed', file: 'nan', code: 'E_NOT_FINITE', message: 'FILE, column "f1", row 7: feature value NaN' },
  { item: 'NaN in a feature', command: 'train stdin', file: 'nan', code: 'E_NOT_FINITE', message: 'FILE, column "f1", row 7: feature value NaN' },
  { item: '-Infinity in a feature', command: 'train', file: 'negInf', code: 'E_NOT_FINITE', message: 'FILE, column "f1", row 8: feature value -Infinity' },
  { item: '-Infinity in a feature', command: 'predict', file: 'negInf', code: 'E_NOT_FINITE', message: 'FILE, column "f1", row 8: feature value -Infinity' },
  { item: 'Infinity in a feature', command: 'evaluate', file: 'inf', code: 'E_NOT_FINITE', message: 'FILE, column "f0", row 6: feature value Infinity' },
  { item: 'Infinity in a feature', command: 'train streamed', file: 'inf', code: 'E_NOT_FINITE', message: 'FILE, column "f0", row 6: feature value Infinity' },
  { item: 'null in a feature', command: 'train streamed', file: 'nullFeature', code: 'E_NULL', message: 'FILE, column "f0", row 5: null feature value' },
  { item: 'null in a feature', command: 'predict', file: 'nullFeature', code: 'E_NULL', message: 'FILE, column "f0", row 5: null feature value' },
  { item: 'null in a feature', command: 'evaluate', file: 'nullFeature', code: 'E_NULL', message: 'FILE, column "f0", row 5: null feature value' },
  { item: 'a null label', command: 'train streamed', file: 'nullLabel', code: 'E_NULL_LABEL', message: 'FILE, column "label", row 9: null label' },
  { item: 'a null label', command: 'train stdin', file: 'nullLabel', code: 'E_NULL_LABEL', message: 'FILE, column "label", row 9: null label' },
  { item: 'a null label', command: 'evaluate', file: 'nullLabel', code: 'E_NULL_LABEL', message: 'FILE, column "label", row 9: null label' },
  { item: 'a stream whose schema changes', command: 'train', file: 'schema', code: 'E_SCHEMA_CHANGED', message: 'FILE: the schema changes at record batch 2 \\(row 10\\).*now f0: Float32, f1: Int32' },
  { item: 'a stream whose schema changes', command: 'train streamed', file: 'schema', code: 'E_SCHEMA_CHANGED', message: 'FILE: the schema changes at record batch 2 \\(row 10\\)' },
  { item: 'a stream whose schema changes', command: 'train stdin', file: 'schema', code: 'E_SCHEMA_CHANGED', message: 'FILE: the schema changes at record batch 2 \\(row 10\\)' },
  { item: 'a stream whose schema changes', command: 'predict', file: 'schema', code: 'E_SCHEMA_CHANGED', message: 'FILE: the schema changes at record batch 2 \\(row 10\\)' },
  { item: 'a stream whose schema changes', command: 'evaluate', file: 'schema', code: 'E_SCHEMA_CHANGED', message: 'FILE: the schema changes at record batch 2 \\(row 10\\)' },
  { item: 'a model applied to a file that lacks one of its features', command: 'predict', file: 'noF1', code: 'E_NO_COLUMN', message: 'FILE: no feature column "f1"' },
];

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('bad input: exit 2, one line naming file, column and row, and nothing left behind', () => {
  it.concurrent.for(cases)('$command: $item → $code', async (c, { expect }) => {
    const file = files[c.file] ?? path.join(dir, c.file);
    const { r, left } = await run(c.command, file, c.extra ?? []);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^quiver: .* \\[${c.code}\\]$`));
    const named = c.command === 'train stdin' ? 'file stdin' : `file ${escape(file)}`;
    expect(lines[0]).toMatch(new RegExp(c.message.replace('FILE', named)));
    expect(left).toEqual([]);
  });
});
