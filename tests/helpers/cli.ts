/**
 * Runs the `quiver` command as a user does: the compiled dist/cli/main.js in a child process.
 * `npm test` builds first; run directly, vitest finds dist/ stale and `ensureBuilt` runs tsc.
 *
 * @example
 * const r = await quiver(['train', '--train', 'data/seed-train.arrow', '--epochs', '1']);
 * expect(r.status).toBe(0);
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const MAIN = path.join(ROOT, 'dist/cli/main.js');
export const DATA = path.join(ROOT, 'data');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

let built = false;
/** Builds dist/ with tsc when dist/cli/main.js is missing or older than a file under src/. */
export function ensureBuilt(): void {
  if (built) return;
  if (!existsSync(MAIN) || statSync(MAIN).mtimeMs < newestSource(path.join(ROOT, 'src'))) {
    try {
      execFileSync('npx', ['tsc', '-p', '.'], { cwd: ROOT, stdio: 'pipe' });
    } catch (e) {
      // A type error elsewhere still emits JS; the CLI tests say whether that JS works.
      if (!existsSync(MAIN)) throw e;
    }
  }
  built = true;
}

/** Runs `node dist/cli/main.js ...args` from the repository root; never rejects. */
export function quiver(args: readonly string[], options: { cwd?: string } = {}): Promise<Run> {
  ensureBuilt();
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: options.cwd ?? ROOT, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ status, stdout, stderr });
    });
  });
}

/** stdout's lines, each parsed as JSON (throws on a line that is not). */
export function ndjson(stdout: string): Record<string, unknown>[] {
  return stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}
