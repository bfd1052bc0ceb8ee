/**
 * PyTorch as a benchmark peer, in a child Python process, where `import torch` works: a TrainJob
 * (nn.Linear layers with ReLU between, BCEWithLogitsLoss, torch.optim.SGD, float32, the batches
 * in the job's order, `loss.item()` each step), and the three GEMMs of a dense layer on one
 * thread. Times are taken inside Python with time.perf_counter around the steps alone.
 *
 * stdin: one JSON line (the config), then float32 bytes: the training features (rows, inputs)
 * and labels (rows), the test features and labels (testRows, possibly 0), then each layer's
 * weight (nOut, nIn) and bias (nOut). stdout: one JSON line.
 */
import { spawnSync } from 'node:child_process';
import type { Evaluation, TrainJob, TrainResult } from './workload.js';

const SCRIPT = String.raw`
import json, os, sys, time
import torch

cfg = json.loads(sys.stdin.buffer.readline())
raw = sys.stdin.buffer.read()
at = 0
def take(shape):
    global at
    count = 1
    for s in shape:
        count *= s
    t = torch.frombuffer(bytearray(raw[at:at + 4 * count]), dtype=torch.float32).reshape(shape).clone() if count else torch.zeros(shape)
    at += 4 * count
    return t

def train():
    torch.set_num_threads(cfg["threads"] or os.cpu_count() or 1)
    rows, k, test_rows = cfg["rows"], cfg["inputs"], cfg["testRows"]
    x = take((rows, k)); y = take((rows, 1))
    tx = take((test_rows, k)); ty = take((test_rows, 1))
    sizes = [k] + cfg["hidden"] + [1]
    init = [(take((sizes[i + 1], sizes[i])), take((sizes[i + 1],))) for i in range(len(sizes) - 1)]
    mods = []
    for i in range(len(sizes) - 1):
        mods.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            mods.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*mods)
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    loss_fn = torch.nn.BCEWithLogitsLoss()
    batch = cfg["batch"]

    def once(n=rows, epochs=cfg["epochs"]):
        with torch.no_grad():
            for lin, (w, b) in zip(linears, init):
                lin.weight.copy_(w); lin.bias.copy_(b)
        opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"])
        started = time.perf_counter()
        for _ in range(epochs):
            total = 0.0
            for start in range(0, n, batch):
                end = min(start + batch, n)
                xb, yb = x[start:end], y[start:end]
                opt.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                opt.step()
                total += loss.item() * xb.shape[0]
            epoch_loss = total / n
        return time.perf_counter() - started, epoch_loss

    # The warm-up: a whole run (warmUpRows None), none (0), or one epoch over the first rows.
    w = cfg["warmUpRows"]
    if w is None:
        once()
    elif w > 0:
        once(min(w, rows), 1)
    runs = [once() for _ in range(cfg["runs"])]
    out = {"seconds": [s for s, _ in runs], "epochLoss": runs[-1][1]}
    if test_rows:
        with torch.no_grad():
            out["finalLoss"] = loss_fn(model(x), y).item()
            out["testAccuracy"] = ((model(tx) > 0).float() == ty).float().mean().item()
    return out

def gemm():
    # One thread, as the GEMM bars are per thread.
    torch.set_num_threads(1)
    m, n, k = cfg["m"], cfg["n"], cfg["k"]
    x, w, dy = torch.rand(m, k) * 2 - 1, torch.rand(n, k) * 2 - 1, torch.rand(m, n) * 2 - 1
    products = {"forward": lambda: x @ w.t(), "inputGrad": lambda: dy @ w, "weightGrad": lambda: dy.t() @ x}
    out = {}
    for name, f in products.items():
        f()
        reps = 1
        while True:
            t = time.perf_counter()
            for _ in range(reps):
                f()
            if time.perf_counter() - t >= cfg["minSeconds"]:
                break
            reps *= 2
        rates = []
        for _ in range(cfg["runs"]):
            t = time.perf_counter()
            for _ in range(reps):
                f()
            rates.append(2 * m * n * k * reps / (time.perf_counter() - t) / 1e9)
        rates.sort()
        out[name] = rates[len(rates) // 2]
    return {"gflops": out}

def blas():
    # Which BLAS library the process loaded: Debian's torch calls whichever libblas.so.3 is
    # installed (the reference BLAS unless OpenBLAS or BLIS is), which sets its speed.
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
        return ", ".join(sorted(os.path.realpath(l) for l in libs if l.startswith("/"))) or "none loaded"
    except OSError:
        return "unknown"

out = train() if cfg["mode"] == "train" else gemm()
out["blas"] = blas()
out["threads"] = torch.get_num_threads()
out["version"] = torch.__version__
print(json.dumps(out))
`;

let python: string | null | undefined;

/**
 * The first Python that imports torch: $QUIVER_PYTHON, then `python3` on the PATH, then Debian's
 * /usr/bin/python3 (where `apt-get install python3-torch` puts it, which a pyenv python3 does
 * not see); undefined where none does.
 */
export function torchPython(): string | undefined {
  if (python === undefined) {
    const candidates = [process.env['QUIVER_PYTHON'], 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
    python = candidates.find((py) => {
      const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
      return probe.error === undefined && probe.status === 0;
    }) ?? null;
  }
  return python ?? undefined;
}

function runScript(config: object, data: Float32Array[]): { out: Record<string, unknown> } | string {
  const py = torchPython();
  if (py === undefined) return 'PyTorch: not installed';
  const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const input = Buffer.concat([Buffer.from(JSON.stringify(config) + '\n'), ...data.map(bytes)]);
  const run = spawnSync(py, ['-c', SCRIPT], { input, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (run.status !== 0) return `PyTorch: failed (exit ${run.status}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  return { out: JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown> };
}

/**
 * Trains `job` in PyTorch on `threads` threads (default all of os.cpu_count()): the warm-up (see
 * warmUpJob: a whole run unless `warmUpRows` says otherwise), then `runs` timed runs. With
 * `evaluate`, also the final loss
 * over the training rows and the accuracy on `evaluate`. A string says why it did not run.
 */
export function torchTrain(job: TrainJob, runs: number, options: { evaluate?: Evaluation; warmUpRows?: number; threads?: number } = {}): TrainResult | string {
  const ev = options.evaluate;
  const config = {
    mode: 'train', inputs: job.inputs, hidden: job.hidden, rows: job.rows, batch: job.batch, epochs: job.epochs,
    lr: job.learningRate, runs, warmUpRows: options.warmUpRows ?? null, testRows: ev?.rows ?? 0,
    threads: options.threads ?? 0, // 0: Python's os.cpu_count()
  };
  const script = runScript(config, [
    job.features, job.labels, ...(ev === undefined ? [] : [ev.features, ev.labels]),
    ...job.layers.flatMap((l) => [l.weight, l.bias]),
  ]);
  if (typeof script === 'string') return script;
  const r = script.out as { seconds: number[]; epochLoss: number; finalLoss?: number; testAccuracy?: number; threads: number; version: string; blas: string };
  return {
    seconds: r.seconds, epochLoss: r.epochLoss,
    ...(r.finalLoss !== undefined && { finalLoss: r.finalLoss }),
    ...(r.testAccuracy !== undefined && { testAccuracy: r.testAccuracy }),
    note: `torch ${r.version}, ${r.threads} thread(s), separate process; BLAS ${r.blas}`,
  };
}

/** GFLOP/s of the three products at (m, n, k) on one thread, the median of `runs` runs of ≥ minSeconds. */
export function torchGemm(m: number, n: number, k: number, runs: number, minSeconds: number):
    { gflops: { forward: number; inputGrad: number; weightGrad: number }; note: string } | string {
  const script = runScript({ mode: 'gemm', m, n, k, runs, minSeconds }, []);
  if (typeof script === 'string') return script;
  const r = script.out as { gflops: { forward: number; inputGrad: number; weightGrad: number }; version: string; blas: string };
  return { gflops: r.gflops, note: `torch ${r.version}, 1 thread; BLAS ${r.blas}` };
}
