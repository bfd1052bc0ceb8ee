/**
 * The control block: a few shared integers and floats in the arena through which the main
 * thread drives the pool's workers, one phase at a time, without posting a message per step.
 *
 * A phase (grad, update, hogwild, exit) is published by writing its fields, then bumping GEN
 * and notifying. Every worker wakes, claims items (micro-shards or weight shards) with
 * Atomics.add on NEXT until none are left, then adds one to ACK; the last one notifies the
 * main thread, which waits for ACK = workers before it publishes the next phase. Which worker
 * computes an item changes nothing in the result: each item writes only its own slot or range.
 */
export const CONTROL_BYTES = 128;

/** Int32 fields. */
export const GEN = 0;
export const KIND = 1;
export const NEXT = 2;
export const TOTAL = 3;
export const ACK = 4;
export const READY = 5;
/** Steps completed before this one: names the step in errors, and is what test hooks key on. */
export const STEP = 6;
export const INPUT_SLOT = 7;
export const ROWS = 8;
export const PARAM_BUFFER = 9;
export const SLOTS = 10;
/** Floats per update item (weight shard). */
export const SHARD = 11;
/** Float64 fields, by Float64Array index over the same block. */
export const LEARNING_RATE = 8;

/** What a phase asks of the workers. */
export const Phase = { Idle: 0, Grad: 1, Update: 2, Hogwild: 3, Exit: 4 } as const;

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
