/**
 * Converts the seed example's reference CSVs (../shared/reference/seed) to the Arrow IPC files
 * bundled in data/, keeping the row order: columns f0…f19 float32 (the CSVs carry 9 significant
 * digits, so each value parses back to the exact float32) and label int32. Copies the reference's
 * initial weights beside them.
 *
 *   npm run data:seed [-- REFERENCE_DIR]
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromArrays, tableToIPC } from 'apache-arrow';

const reference = process.argv[2] ?? join(import.meta.dirname, '../../shared/reference/seed');
const out = join(import.meta.dirname, '../data');

async function convert(csv: string, arrow: string): Promise<void> {
  const [head, ...lines] = (await readFile(csv, 'utf8')).trim().split('\n');
  const names = head!.split(',');
  const labelAt = names.indexOf('label');
  const columns: Record<string, Float32Array | Int32Array> = {};
  names.forEach((name, j) => { columns[name] = j === labelAt ? new Int32Array(lines.length) : new Float32Array(lines.length); });
  lines.forEach((line, r) => {
    const cells = line.split(',');
    if (cells.length !== names.length) throw new Error(`${csv}:${r + 2}: ${cells.length} cells, expected ${names.length}`);
    cells.forEach((cell, j) => { columns[names[j]!]![r] = Number(cell); });
  });
  await writeFile(arrow, tableToIPC(tableFromArrays(columns), 'file'));
  console.log(`${arrow}: ${lines.length} rows, columns ${names.join(',')}`);
}

await convert(join(reference, 'train.csv'), join(out, 'seed-train.arrow'));
await convert(join(reference, 'test.csv'), join(out, 'seed-test.arrow'));
for (const f of ['init-relu.safetensors', 'init-tanh-sigmoid.safetensors']) await copyFile(join(reference, f), join(out, f));
