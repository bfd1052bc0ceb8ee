import { ConfigError } from '../errors.js';
import type { ModelSpec } from '../nn/layers.js';
import { paramLayout, type ParamLayout } from '../nn/params.js';
import { CONTROL_BYTES } from './control.js';
import { statsLayout, type StatsLayout } from '../nn/diagnostics.js';
import { layerViews, workspace, workspaceSize, type LayerViews, type Workspace } from '../nn/network.js';

/**
 * The arena: every number a step touches, in one shared WebAssembly.Memory (its buffer is a
 * SharedArrayBuffer, so the main thread, the workers and wasm kernels see the same bytes). The
 * layout is computed from (spec, options) alone, so every thread builds identical views and
 * messages carry only offsets and sizes.
 */
export interface ArenaOptions {
  /** Most rows in one global batch (B). */
  batchRows: number;
  /** Rows in one micro-shard; the number of gradient slots is ⌈B / microBatch⌉. */
  microBatch: number;
  /** Threads that need their own scratch (1 for inline). */
  workers: number;
  /** Parameter-shaped vectors of optimizer state. */
  optimizerSlots: number;
}

export interface ArenaLayout {
  params: ParamLayout;
  /** Floats per parameter-shaped vector, rounded up to 16 (64 bytes) so no two threads share a cache line. */
  stride: number;
  /** Float offsets of the two parameter buffers (the step writes one while reading the other). */
  paramBuffers: [number, number];
  /**
   * Float offset of the optimizer state (optimizerSlots × stride), updated in place: unlike the
   * parameters it needs no second copy, since a step that fails ends the run and its state is
   * never used again (checkpoints are taken only between completed steps).
   */
  optimizer: number;
  optimizerSlots: number;
  /** Float offset of gradient slot 0; slot s starts at grads + s·stride. */
  grads: number;
  gradSlots: number;
  /** Byte offset of per-slot stats: a row of stats.size float64 per slot (loss, right rows, diagnostics). */
  metrics: number;
  stats: StatsLayout;
  /**
   * The update phase's unit of work: a fixed range of NORM_BLOCK parameters, the same whatever
   * the number of workers, so that the norms summed block by block (for clipping and the
   * diagnostics) are too. Byte offset of their float64 partial norms: blocks × layers × NORM_FIELDS.
   */
  norms: number;
  blocks: number;
  /** Byte offset of the control block through which the main thread drives the workers (see control.ts). */
  control: number;
  /** Float offset of worker 0's scratch; worker w's starts at scratch + w·scratchStride. */
  scratch: number;
  scratchStride: number;
  workers: number;
  microBatch: number;
  /** Float offsets of the two input slots; each holds batchRows × inputs features, then batchRows labels. */
  inputs: [number, number];
  batchRows: number;
  bytes: number;
}

const PAGE = 65536;
/**
 * Bytes at the start of the arena left to the WebAssembly kernels' own static data (they import
 * this memory, so their data segments live in it too); the arena's tensors start after it.
 */
export const WASM_RESERVED_BYTES = PAGE;
const MAX_PAGES = 65536; // 4 GiB, the most a wasm32 memory can address
const align16 = (n: number): number => Math.ceil(n / 16) * 16;
/** Parameters per update block: large enough that claiming one costs nothing, small enough to balance 2–16 workers. */
export const NORM_BLOCK = 4096;
/**
 * Per block and layer (see step.ts): ‖∇W‖², ‖∇other‖²; for the weights ‖ΔW‖², ‖W‖², ‖W new‖²;
 * for the layer's other tensors the same three.
 */
export const NORM_FIELDS = 8;

export function layoutArena(spec: ModelSpec, options: ArenaOptions): ArenaLayout {
  const params = paramLayout(spec);
  const stride = align16(params.size);
  const gradSlots = Math.ceil(options.batchRows / options.microBatch);
  let at = WASM_RESERVED_BYTES / 4;
  const take = (floats: number): number => { const o = at; at += align16(floats); return o; };
  const paramBuffers: [number, number] = [take(stride), take(stride)];
  const optimizer = take(stride * options.optimizerSlots);
  const grads = take(stride * gradSlots);
  const stats = statsLayout(spec);
  const metrics = take(gradSlots * stats.size * 2) * 4;
  const blocks = Math.ceil(params.size / NORM_BLOCK);
  const norms = take(blocks * spec.layers.length * NORM_FIELDS * 2) * 4;
  const control = take(CONTROL_BYTES / 4) * 4;
  const scratchStride = align16(workspaceSize(spec, options.microBatch));
  const scratch = take(scratchStride * options.workers);
  const inputFloats = options.batchRows * (spec.inputs + 1);
  const inputs: [number, number] = [take(inputFloats), take(inputFloats)];
  return {
    params, stride, paramBuffers, optimizer, optimizerSlots: options.optimizerSlots, grads, gradSlots, metrics, stats, norms, blocks, control,
    scratch, scratchStride, workers: options.workers, microBatch: options.microBatch,
    inputs, batchRows: options.batchRows, bytes: at * 4,
  };
}

/** Named views over one arena; build it from the layout and the memory on any thread. */
export class Arena {
  readonly f32: Float32Array;
  /** (gradSlots, stats.size): each micro-shard's loss, right rows and diagnostics counts. */
  readonly metrics: Float64Array;
  /** (blocks, layers, NORM_FIELDS): each update block's partial norms. */
  readonly norms: Float64Array;

  constructor(readonly spec: ModelSpec, readonly layout: ArenaLayout, readonly memory: WebAssembly.Memory) {
    this.f32 = new Float32Array(memory.buffer);
    this.metrics = new Float64Array(memory.buffer, layout.metrics, layout.gradSlots * layout.stats.size);
    this.norms = new Float64Array(memory.buffer, layout.norms, layout.blocks * spec.layers.length * NORM_FIELDS);
  }

  /** Slot s's row of stats. */
  slotStats(s: number): Float64Array {
    const n = this.layout.stats.size;
    return this.metrics.subarray(s * n, (s + 1) * n);
  }

  /** Allocates a zeroed shared memory big enough for `layout`. */
  static allocate(spec: ModelSpec, layout: ArenaLayout): Arena {
    const pages = Math.ceil(layout.bytes / PAGE);
    if (pages > MAX_PAGES) {
      throw new ConfigError('E_ARENA_TOO_LARGE',
        `the training arena would need ${(layout.bytes / 2 ** 30).toFixed(2)} GiB (more than 4 GiB): ` +
        `lower --batch-size (now ${layout.batchRows} rows, ${layout.gradSlots} gradient slots of ${layout.params.size} parameters)`);
    }
    return new Arena(spec, layout, new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }));
  }

  private vector(offset: number, length: number): Float32Array {
    return this.f32.subarray(offset, offset + length);
  }

  /** Parameter buffer 0 or 1 (params.size floats). */
  params(buffer: number): Float32Array {
    return this.vector(this.layout.paramBuffers[buffer]!, this.layout.params.size);
  }
  paramViews(buffer: number): LayerViews[] {
    return layerViews(this.params(buffer), this.layout.params);
  }
  /** Optimizer state vector `i` (params.size floats). */
  optimizerState(i: number): Float32Array {
    return this.vector(this.layout.optimizer + i * this.layout.stride, this.layout.params.size);
  }
  /** Gradient slot `s` (params.size floats). */
  grad(s: number): Float32Array {
    return this.vector(this.layout.grads + s * this.layout.stride, this.layout.params.size);
  }
  /** All gradient slots from element `start` of slot 0 on: the input of sumSlots for a weight shard. */
  gradSlotsFrom(start: number): Float32Array {
    return this.f32.subarray(this.layout.grads + start, this.layout.grads + this.layout.gradSlots * this.layout.stride);
  }
  gradViews(s: number): LayerViews[] {
    return layerViews(this.grad(s), this.layout.params);
  }
  workspace(worker: number): Workspace {
    const o = this.layout.scratch + worker * this.layout.scratchStride;
    return workspace(this.vector(o, this.layout.scratchStride), this.spec, this.layout.microBatch);
  }
  /** Input slot `i`: features (batchRows, inputs) row-major, and labels (batchRows) as class indices. */
  input(i: number): { features: Float32Array; labels: Float32Array } {
    const o = this.layout.inputs[i]!;
    const n = this.layout.batchRows * this.spec.inputs;
    return { features: this.vector(o, n), labels: this.vector(o + n, this.layout.batchRows) };
  }
}
