/**
 * `quiver export`: a saved model as a file another runtime serves. ONNX for now: the graph
 * takes `input` (N, features) float32 and gives `probability`, as `quiver predict` does
 * (see src/io/onnx.ts).
 *
 * @example
 * quiver export --model out/seed --format onnx --out seed.onnx
 * wrote seed.onnx (6211 bytes, ONNX opset 20): input (N, 20) → probability (N, 1)
 */
import type { Command } from 'commander';
import { loadModel } from '../io/modelFile.js';
import { oneOf } from './args.js';

export interface ExportFlags {
  model: string;
  format: 'onnx';
  out: string;
}

/** Loads (and so checks) the model, writes the export; returns its size in bytes. */
export async function exportJob(flags: ExportFlags): Promise<{ bytes: number; inputs: number; outputs: number }> {
  const model = await loadModel(flags.model);
  // Loaded here, not with the command line: onnx-proto (protobufjs) is only needed to export.
  const { writeOnnx } = await import('../io/onnx.js');
  const bytes = await writeOnnx(flags.out, model);
  return { bytes, inputs: model.spec.inputs, outputs: model.outputs };
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write a saved model as an ONNX graph (opset 20) that onnxruntime and other runtimes serve')
    .requiredOption('--model <dir>', 'model directory (model.json and weights.safetensors, from train --save)')
    .requiredOption('--out <file>', 'the file to write, e.g. model.onnx')
    .option('--format <format>', 'onnx: input (N, features) float32 → probability', oneOf('--format', ['onnx'] as const), 'onnx')
    .action(async (flags: ExportFlags) => {
      const { bytes, inputs, outputs } = await exportJob(flags);
      const { ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT } = await import('../io/onnx.js');
      process.stderr.write(`wrote ${flags.out} (${bytes} bytes, ONNX opset ${ONNX_OPSET}): ${ONNX_INPUT} (N, ${inputs}) → ${ONNX_OUTPUT} (N, ${outputs})\n`);
    });
}
