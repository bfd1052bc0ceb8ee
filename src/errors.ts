/**
 * Every failure a user can cause is a QuiverError with a stable `code`; the CLI prints its
 * message on one line and exits with `exitCode` (2 for bad input, 3 for divergence). Anything
 * else that escapes is a bug and exits 1 with its stack.
 */
export class QuiverError extends Error {
  /** Stable, machine-readable: tools match on it, so never rename one. */
  readonly code: string;
  /** Process exit status the CLI uses for this error. */
  readonly exitCode: number = 2;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A bad flag value, option or model spec (`E_CONFIG`, `E_USAGE`, `E_UNKNOWN_ACTIVATION`, ...). */
export class ConfigError extends QuiverError {}

/** A data file or column that cannot be trained on (`E_NO_FILE`, `E_NOT_ARROW`, `E_NULL`, ...). */
export class DataError extends QuiverError {}

/** A model or weights file that is missing, corrupt or does not fit the model (`E_MODEL_FILE`, ...). */
export class ModelFileError extends QuiverError {}

/** The loss turned NaN or infinite (`E_DIVERGED`); exit status 3. */
export class DivergenceError extends QuiverError {
  override readonly exitCode = 3;
}

/** Where in the data a problem is, for messages: "file train.arrow, column f3, row 17". */
export function where(file: string | undefined, column?: string, row?: number): string {
  const parts: string[] = [];
  if (file !== undefined) parts.push(`file ${file}`);
  if (column !== undefined) parts.push(`column ${JSON.stringify(column)}`);
  if (row !== undefined) parts.push(`row ${row}`);
  return parts.join(', ');
}

/**
 * A pool worker threw or its thread died (`E_WORKER`). Not the user's input, so exit status 1;
 * the parameters are those of the last completed step.
 */
export class WorkerError extends QuiverError {
  override readonly exitCode = 1;
}
