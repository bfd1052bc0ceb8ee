import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCompare } from '../../src/cli/compare.js';
import { registerEvaluate } from '../../src/cli/evaluate.js';
import { registerExport } from '../../src/cli/export.js';
import { registerGenerate } from '../../src/cli/generate.js';
import { registerInspect } from '../../src/cli/inspect.js';
import { registerPredict } from '../../src/cli/predict.js';
import { registerSeed } from '../../src/cli/seed.js';
import { registerTrain } from '../../src/cli/train.js';
import { quiver } from '../helpers/cli.js';

/** The commands as the parser defines them: every flag each one accepts. */
const program = new Command('quiver');
for (const register of [registerTrain, registerGenerate, registerSeed, registerPredict, registerEvaluate, registerExport, registerInspect, registerCompare]) {
  register(program);
}

describe('quiver --help', () => {
  it('lists every command', async () => {
    const r = await quiver(['--help']);
    expect(r.status).toBe(0);
    for (const c of program.commands) expect(r.stdout).toMatch(new RegExp(`^  ${c.name()}\\b`, 'm'));
  });

  it.each(program.commands.map((c) => [c.name(), c] as const))('quiver %s --help lists every flag the parser accepts, with its default', async (name, command) => {
    const r = await quiver([name, '--help']);
    expect(r.status).toBe(0);
    const help = r.stdout.replace(/\n\s+/g, ' '); // commander wraps long descriptions
    expect(command.options.length).toBeGreaterThan(0);
    for (const o of command.options) {
      expect(help, `${name} ${o.long}`).toContain(o.flags);
      if (o.defaultValue !== undefined && o.defaultValue !== false) {
        const shown = `(default: ${JSON.stringify(o.defaultValue)})`;
        const plain = `(default: ${String(o.defaultValue)})`;
        expect(help.includes(shown) || help.includes(plain), `${name} ${o.long} shows its default ${plain}`).toBe(true);
      }
    }
  });

  it('prints the version', async () => {
    const r = await quiver(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('refuses an unknown flag, naming it, with exit 2', async () => {
    const r = await quiver(['train', '--trian', 'x.arrow']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--trian'.*Did you mean --train\?/);
  });

  it('refuses a bad value with the valid choices', async () => {
    const r = await quiver(['train', '--train', 'x.arrow', '--kernels', 'gpu']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--kernels must be one of ts, wasm \(got "gpu"\).*\[E_CONFIG\]/);
  });
});
