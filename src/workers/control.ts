/**
 * The control block: a few shared integers and floats in the arena through which the main
 * thread drives the pool's workers, one phase at a time, without posting a message per step.
 *
 * A phase (grad, reduce, update, hogwild, evaluate, exit) is published by writing its fields, then bumping
 * GEN and notifying. Every worker wakes, claims items (micro-shards or update blocks) with
 * Atomics.add on NEXT until none are left, then adds one to ACK; the last one notifies the
 * main thread, which waits for ACK = workers before it publishes the next phase. Which worker
 * computes an item changes nothing in the result: each item writes only its own slot or block.
 */
export const CONTROL_BYTES = 128;

/** Int32 fields (indices 0–15; the float64 fields take bytes 64–127). */
export const GEN = 0;
export const KIND = 1;
export const NEXT = 2;
export const TOTAL = 3;
export const ACK = 4;
export const READY = 5;
/** Steps this engine completed before this one: names the step in errors, and is what test hooks key on. */
export const STEP = 6;
export const INPUT_SLOT = 7;
export const ROWS = 8;
export const PARAM_BUFFER = 9;
export const SLOTS = 10;
/** 1 when a reduce phase already summed the slots (the update phase then only applies). */
export const REDUCED = 11;
/** Steps of the whole run before this one (a resumed run counts on): names the dropout masks. */
export const GLOBAL_STEP = 12;
/** Float64 fields, by Float64Array index over the same block. */
export const LEARNING_RATE = 8;
/** The global-norm clipping factor, 1 without clipping. */
export const GRAD_SCALE = 9;
/** The optimizer's step count t ≥ 1 (Adam's bias correction). */
export const OPTIMIZER_T = 10;

/** What a phase asks of the workers. */
export const Phase = { Idle: 0, Grad: 1, Reduce: 2, Update: 3, Hogwild: 4, Evaluate: 5, Exit: 6 } as const;
export type PhaseKind = (typeof Phase)[keyof typeof Phase];

export interface Control {
  i32: Int32Array;
  f64: Float64Array;
}

export function controlViews(memory: WebAssembly.Memory, byteOffset: number): Control {
  return {
    i32: new Int32Array(memory.buffer, byteOffset, CONTROL_BYTES / 4),
    f64: new Float64Array(memory.buffer, byteOffset, CONTROL_BYTES / 8),
  };
}
