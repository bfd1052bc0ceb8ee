/**
 * quiver: multilayer perceptrons trained on Apache Arrow data, in Node.js.
 *
 * ```ts
 * import { hiddenLayer, mlp, Model, loadDataset, fit, sgd } from 'quiver';
 * const train = await loadDataset('data/seed-train.arrow');
 * const model = Model.init(mlp({ inputs: 20, layers: [hiddenLayer({ units: 64, activation: 'relu' })] }), 42);
 * const history = await fit(model, train, { epochs: 100, optimizer: sgd({ learningRate: 0.01 }) });
 * ```
 */
export { QuiverError, ConfigError, DataError, ModelFileError, DivergenceError } from './errors.js';
export { ACTIVATIONS, ACTIVATION_ALIASES, activationName, type ActivationName, type Activation } from './nn/activations.js';
export {
  varianceScaling, heNormal, heUniform, glorotNormal, glorotUniform, lecunNormal, lecunUniform, zeros, constant, uniform,
  initializerSpec, INITIALIZER_ALIASES, type InitializerSpec, type InitializerName,
} from './nn/initializers.js';
export { hiddenLayer, mlp, type DenseLayerSpec, type DenseLayerArgs, type ModelSpec, type ModelArgs, type Loss } from './nn/layers.js';
export { Model, type ModelInfo } from './nn/model.js';
export { sgd, type SgdSpec, type OptimizerSpec } from './nn/optimizers.js';
export { Prng } from './nn/prng.js';
export { paramLayout, type ParamLayout, type TensorSlice } from './nn/params.js';
export { loadDataset, type Dataset, type LoadOptions } from './pipeline/dataset.js';
export {
  openArrowFile, openSource, sourceFromTable, sourceFromBatches, sourceFromObservable, type ArrowSource,
} from './pipeline/source.js';
export { sourceRows, type FileRowsOptions } from './pipeline/streamRows.js';
export { trainOn, type TrainOnOptions } from './pipeline/trainOn.js';
export { train, fit, type FitOptions, type TrainEvent, type EpochEvent, type EndEvent, type History } from './pipeline/train.js';
export { saveModel, loadModel, openModel, loadWeights, type ModelJson, type ModelFiles } from './io/modelFile.js';
export { onnxModel, writeOnnx, ONNX_OPSET } from './io/onnx.js';
export { encodeSafetensors, decodeSafetensors, type Tensor } from './io/safetensors.js';
export {
  predictBatches, predictSource, Predictor, classLabelsOf, featureNamesOf, classesOfLogits, probabilitiesOfLogits,
  type PredictOptions,
} from './pipeline/predict.js';
export { openBatchWriter, writeBatches, ipcFormatOf, type BatchWriter, type IpcFormat } from './io/predictions.js';
export { Metrics, rocAuc, evaluateSource, type EvaluateResult, type EvaluateOptions } from './io/metrics.js';
export { openAtomic, writeFileAtomic, type AtomicFile } from './io/atomic.js';
