/**
 * What the kernels compute on. Training keeps float32 everywhere; the tests run the very same
 * kernels in float64 to check analytic gradients against finite differences tightly.
 */
export type Floats = Float32Array | Float64Array;
