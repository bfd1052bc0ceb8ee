/**
 * Parsers for flag values, for commander's `.option(flags, description, parser, default)`: each
 * refuses what is not exactly a value of its kind ("12abc", "", "1e400") with a ConfigError that
 * names the flag and carries the value.
 */
import { ConfigError } from '../errors.js';

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function notA(flag: string, what: string, value: string): ConfigError {
  return new ConfigError('E_CONFIG', `${flag} must be ${what} (got ${JSON.stringify(value)})`);
}

/** An integer flag that is at least `min`. */
export function integerAtLeast(flag: string, min: number): (value: string) => number {
  return (value) => {
    const v = value.trim();
    const n = Number(v);
    if (!INTEGER.test(v) || !Number.isSafeInteger(n) || n < min) throw notA(flag, `an integer >= ${min}`, value);
    return n;
  };
}

/** A decimal flag in [min, max]; `open` excludes min itself (a learning rate of 0). */
export function decimalIn(flag: string, min: number, max: number, open = false): (value: string) => number {
  return (value) => {
    const v = value.trim();
    const n = Number(v);
    if (!DECIMAL.test(v) || !Number.isFinite(n) || n < min || (open && n === min) || n > max) {
      const lower = `${open ? '>' : '>='} ${min}`;
      throw notA(flag, max === Infinity ? `a number ${lower}` : `a number ${lower} and <= ${max}`, value);
    }
    return n;
  };
}

/** One of `choices`. */
export function oneOf<T extends string>(flag: string, choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw notA(flag, `one of ${choices.join(', ')}`, value);
    return value as T;
  };
}

/** A comma-separated list of non-empty names. */
export function nameList(flag: string): (value: string) => string[] {
  return (value) => {
    const names = value.split(',').map((s) => s.trim());
    if (names.some((s) => s === '')) throw notA(flag, 'a comma-separated list of names', value);
    return names;
  };
}

/** A comma-separated list of integers >= min (layer widths: "128,64"). */
export function integerList(flag: string, min: number): (value: string) => number[] {
  const one = integerAtLeast(flag, min);
  return (value) => {
    try {
      return value.split(',').map(one);
    } catch {
      throw notA(flag, `a comma-separated list of integers >= ${min}`, value);
    }
  };
}

/** A comma-separated list of decimals, each in [min, max]. */
export function decimalList(flag: string, min: number, max: number): (value: string) => number[] {
  return (value) => value.split(',').map((v) => decimalIn(flag, min, max)(v));
}
