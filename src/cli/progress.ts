/**
 * The progress bar of `quiver train` on a terminal: one bar per epoch with rows/s, the loss so
 * far and the time left, drawn by cli-progress on stdout, cleared when the epoch's line is
 * printed. Not drawn when stdout is not a terminal (a log file, a pipe), with --quiet, or with
 * --log-format json (stdout is then NDJSON only).
 */
import cliProgress from 'cli-progress';
import type { StepProgress } from '../pipeline/train.js';

export class EpochProgress {
  private bar: cliProgress.SingleBar | undefined;
  private epoch = -1;
  private started = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {}

  /** Whether a bar can be drawn on this stream. */
  static wanted(stream: NodeJS.WriteStream = process.stdout): boolean {
    return stream.isTTY === true;
  }

  update(p: StepProgress): void {
    if (p.epoch !== this.epoch) {
      this.clear();
      this.epoch = p.epoch;
      this.started = performance.now();
      this.bar = new cliProgress.SingleBar({
        stream: this.stream, clearOnComplete: true, hideCursor: true, fps: 10,
        format: `epoch ${p.epoch + 1}/${p.epochs} [{bar}] {percentage}% | {value}/{total} rows | {rate} rows/s | loss {loss} | ETA {eta_formatted}`,
      }, cliProgress.Presets.shades_classic);
      this.bar.start(p.epochRows ?? p.rows, 0, { rate: '-', loss: '-' });
    }
    const seconds = (performance.now() - this.started) / 1000;
    if (p.epochRows === undefined) this.bar!.setTotal(p.rows);
    this.bar!.update(p.rows, { rate: seconds > 0 ? Math.round(p.rows / seconds).toLocaleString('en-US') : '-', loss: p.loss.toFixed(4) });
  }

  /** Removes the bar (before a line of the log is printed, and at the end). */
  clear(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
