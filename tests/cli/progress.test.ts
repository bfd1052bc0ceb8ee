import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { EpochProgress } from '../../src/cli/progress.js';

/** A stream that says it is a terminal, and keeps what is drawn on it. */
function terminal(): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  let text = '';
  stream.on('data', (b: Buffer) => { text += b.toString(); });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

describe('the progress bar', () => {
  it('is drawn only on a terminal', () => {
    expect(EpochProgress.wanted(terminal().stream)).toBe(true);
    expect(EpochProgress.wanted(new PassThrough() as unknown as NodeJS.WriteStream)).toBe(false);
  });

  it('shows the epoch, rows done of the epoch, rows/s and the loss so far', async () => {
    const t = terminal();
    const bar = new EpochProgress(t.stream);
    bar.update({ epoch: 2, epochs: 10, step: 1, rows: 256, epochRows: 1024, loss: 0.69314 });
    await new Promise((r) => setTimeout(r, 20));
    bar.update({ epoch: 2, epochs: 10, step: 2, rows: 512, epochRows: 1024, loss: 0.5 });
    bar.clear();
    const drawn = t.text();
    expect(drawn).toMatch(/epoch 3\/10/);
    expect(drawn).toMatch(/\d+\/1024 rows/);
    expect(drawn).toMatch(/[\d,]+ rows\/s/);
    expect(drawn).toMatch(/loss 0\.(6931|5000)/);
    expect(drawn).toMatch(/ETA/);
  });
});
