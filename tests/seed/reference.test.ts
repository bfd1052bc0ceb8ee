import { beforeAll, describe, expect, it } from 'vitest';
import { weightTensors } from '../../src/io/modelFile.js';
import { sgd } from '../../src/nn/optimizers.js';
import { fit } from '../../src/pipeline/train.js';
import { Arena, layoutArena } from '../../src/workers/arena.js';
import { InlineEngine, kernelsFor } from '../../src/workers/engine.js';
import type { KernelsName } from '../../src/kernels/kernels.js';
import type { Model } from '../../src/nn/model.js';
import type { Dataset } from '../../src/pipeline/dataset.js';
import { maxDiff } from '../helpers/random.js';
import { referenceCurve, referenceTensors, seedData, seedModel } from '../helpers/seed.js';

let train: Dataset;
let test: Dataset;
beforeAll(async () => ({ train, test } = await seedData()));

/** Largest difference between the model's tensors and a reference file's, over all four. */
function weightDiff(model: Model, file: string): number {
  const ref = referenceTensors(file);
  return Math.max(...weightTensors(model).map(([name, t]) => maxDiff(t.data, ref.get(name)!).abs));
}

/** One full-batch step through the arena and the inline engine, as training runs it. */
async function firstStep(model: Model, microBatch: number, kernels: KernelsName): Promise<{ grad: Float32Array; params: Float32Array }> {
  const layout = layoutArena(model.spec, { batchRows: train.rows, microBatch, workers: 1, optimizerSlots: 0 });
  const arena = Arena.allocate(model.spec, layout);
  arena.params(0).set(model.params);
  arena.input(0).features.set(train.features);
  arena.input(0).labels.set(train.labels);
  const engine = new InlineEngine(arena, await kernelsFor(kernels, arena.memory), { optimizer: sgd({ learningRate: 0.01 }), seed: 0, clipValue: Infinity });
  await engine.step({ inputSlot: 0, rows: train.rows, paramBuffer: 0, learningRate: 0.01, globalStep: 0 });
  return { grad: arena.grad(0).slice(), params: arena.params(1).slice() };
}

describe.each(['ts', 'wasm'] as const)('the seed example against PyTorch, %s kernels', (kernels) => {
  it.each([256, 800, 100])('first gradient equals the float64 reference but for the one rounding trap (micro-batch %i)', async (micro) => {
    const model = await seedModel('relu');
    const { grad } = await firstStep(model, micro, kernels);
    const ref = referenceTensors('grad0-relu.f64.safetensors');
    for (const t of model.layout.tensors) {
      const got = grad.subarray(t.offset, t.offset + t.length);
      const want = ref.get(t.name)!;
      const largest = Math.max(...Array.from(want, Math.abs));
      // Hidden unit 47 on row 469 sits at ±1e-7 from the ReLU kink (see the reference README).
      const trap = (i: number): boolean =>
        (t.name === 'layers.0.weight' && Math.floor(i / 20) === 47) || (t.name === 'layers.0.bias' && i === 47);
      let worst = 0;
      let worstTrap = 0;
      for (let i = 0; i < t.length; i++) {
        const d = Math.abs(got[i]! - want[i]!);
        if (trap(i)) worstTrap = Math.max(worstTrap, d); else worst = Math.max(worst, d);
      }
      console.log(`${kernels} grad0 ${t.name} (micro ${micro}): max diff ${worst.toExponential(2)} of max |g| ${largest.toExponential(2)}; unit 47 ${worstTrap.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(1e-6 * largest);
      expect(worstTrap).toBeLessThanOrEqual(5e-4);
    }
  });

  it('weights after one SGD step are within 1e-5 of PyTorch\'s', async () => {
    const model = await seedModel('relu');
    model.params.set((await firstStep(model, 256, kernels)).params);
    const d = weightDiff(model, 'step1-relu.safetensors');
    console.log(`${kernels} step1 relu: max weight diff ${d.toExponential(2)}`);
    expect(d).toBeLessThanOrEqual(1e-5);
  });

  it.each([
    { activation: 'relu', testAccuracy: 0.835 },
    { activation: 'tanh', testAccuracy: 0.775 },
    { activation: 'sigmoid', testAccuracy: 0.755 },
  ] as const)('$activation: 100 epochs follow the loss curve within 1e-5, weights within 1e-4, test accuracy $testAccuracy', async ({ activation, testAccuracy }) => {
    const model = await seedModel(activation);
    const h = await fit(model, train, { epochs: 100, batchSize: 'full', optimizer: sgd({ learningRate: 0.01 }), validationData: test, kernels });
    const curve = referenceCurve(activation);
    expect(h.epochs).toHaveLength(100);
    const lossDiff = Math.max(...h.epochs.map((e, i) => Math.abs(e.loss - curve[i]!.loss)));
    const accDiff = Math.max(...h.epochs.map((e, i) => Math.abs(e.trainAccuracy - curve[i]!.trainAccuracy)));
    const w = weightDiff(model, `final-${activation}.safetensors`);
    console.log(`${kernels} ${activation}: max loss diff ${lossDiff.toExponential(2)}, train accuracy diff ${accDiff}, final weight diff ${w.toExponential(2)}, test accuracy ${h.end.testAccuracy}`);
    expect(lossDiff).toBeLessThanOrEqual(1e-5);
    expect(accDiff).toBeLessThan(1e-6); // every epoch's count of right rows is PyTorch's
    expect(w).toBeLessThanOrEqual(1e-4);
    expect(h.end.testAccuracy).toBe(testAccuracy);
  });

  it('does not depend on the micro-batch size beyond float32 rounding', async () => {
    const runs = await Promise.all([32, 256, 800].map(async (microBatch) => {
      const model = await seedModel('relu');
      await fit(model, train, { epochs: 20, microBatch, kernels });
      return model.params;
    }));
    expect(maxDiff(runs[0]!, runs[2]!).abs).toBeLessThan(1e-5);
    expect(maxDiff(runs[1]!, runs[2]!).abs).toBeLessThan(1e-5);
  });
});
