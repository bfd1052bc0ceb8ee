/**
 * `quiver train --resume DIR`: the options a run was started with come back from its
 * checkpoint; a flag given again must say the same, or the run would not be the one that was
 * interrupted. Only flags that change nothing in the result may differ: where the log goes, how
 * often, and how many threads compute it (the weights are the same for any worker count).
 */
import { resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { TrainFlags } from './train.js';

/** Flags a resumed run may change. */
const FREE: ReadonlySet<string> = new Set(['resume', 'workers', 'logFormat', 'logEvery', 'quiet', 'plot']);
/** Flags that name files: stored as absolute paths, so a run resumes from any directory. */
const PATHS = ['train', 'test', 'initFrom', 'save'] as const;

/** The flags a checkpoint stores: everything that shapes the run, paths made absolute. */
export function storedFlags(flags: TrainFlags): Record<string, unknown> {
  const out: Record<string, unknown> = { ...flags };
  for (const k of PATHS) if (typeof out[k] === 'string' && out[k] !== '-') out[k] = resolve(out[k] as string);
  for (const k of FREE) delete out[k];
  return out;
}

/** The kebab-case flag of an option key: lrSchedule → --lr-schedule. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * The flags to resume with: the stored ones, with the free ones as given now. `given` holds the
 * keys the user typed on this command line; each must agree with the stored value.
 */
export function resumeFlags(stored: Record<string, unknown>, now: TrainFlags, given: ReadonlySet<string>, dir: string): TrainFlags {
  for (const key of given) {
    if (FREE.has(key)) continue;
    let value = (now as unknown as Record<string, unknown>)[key];
    if ((PATHS as readonly string[]).includes(key) && typeof value === 'string' && value !== '-') value = resolve(value);
    if (JSON.stringify(value) !== JSON.stringify(stored[key])) {
      throw new ConfigError('E_RESUME_MISMATCH',
        `${flagName(key)} ${JSON.stringify(value)} differs from the run being resumed from ${dir} (${stored[key] === undefined ? 'not set' : JSON.stringify(stored[key])}); ` +
        'leave it out to resume with the checkpoint\'s options');
    }
  }
  const flags = { ...stored } as unknown as TrainFlags & Record<string, unknown>;
  for (const key of FREE) {
    const v = (now as unknown as Record<string, unknown>)[key];
    if (v !== undefined) flags[key] = v;
  }
  return flags;
}
