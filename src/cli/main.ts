#!/usr/bin/env node
/**
 * The `quiver` command: a thin shell over the library. A QuiverError (bad input) prints one line
 * on stderr and exits with its status (2; 3 for divergence); anything else is a bug: stack, exit 1.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { QuiverError } from '../errors.js';
import { registerCompare } from './compare.js';
import { registerEvaluate } from './evaluate.js';
import { registerExport } from './export.js';
import { registerGenerate } from './generate.js';
import { registerInspect } from './inspect.js';
import { registerPredict } from './predict.js';
import { registerSeed } from './seed.js';
import { registerTrain } from './train.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

// `quiver train --save out | head`: the reader has gone; drop the rest of the log instead of
// crashing on EPIPE, so the run still finishes and saves.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
});

const program = new Command('quiver')
  .description('train multilayer perceptrons on Apache Arrow data')
  .version(version)
  // A usage error is one line with its code, like every other error the user can cause
  // (subcommands inherit this, so it is set before they are registered).
  .configureOutput({
    outputError: (message, write) => write(`quiver: ${message.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')} (see --help) [E_USAGE]\n`),
  })
  .exitOverride();
registerTrain(program);
registerGenerate(program);
registerSeed(program);
registerPredict(program);
registerEvaluate(program);
registerExport(program);
registerInspect(program);
registerCompare(program);
for (const c of program.commands) c.exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version end here too, with exit code 0; usage errors are the user's: 2.
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else if (e instanceof QuiverError) {
    process.stderr.write(`quiver: ${e.message} [${e.code}]\n`);
    process.exitCode = e.exitCode;
  } else {
    process.stderr.write(`quiver: internal error (a bug; please report it):\n${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
