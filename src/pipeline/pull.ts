/**
 * An Observable read as an async iterator: the bridge from RxJS, which pushes, to the training
 * loop, which pulls. An Observable cannot be paused, so what it emits before the reader asks is
 * queued. `maxQueued` bounds that queue: a source that runs further ahead is unsubscribed from
 * at once (takeWhile, so even a synchronous `from(array)` stops there), and the reader gets the
 * error `overrun()` makes, instead of memory growing without limit.
 *
 * The subscription is made by the first `next()` call, synchronously (so a hot source loses
 * nothing it emits after that call), and ended by `return()`, by the source's completion or
 * error, or by an overrun. Values queued before a source's error are read before the error.
 * `return()` may be called while a `next()` waits (a reader that gives up on a slow source):
 * that `next()` resolves done.
 *
 * @example
 * const it = pullObservable(from(table.batches), { maxQueued: 16 });
 * for (let r = await it.next(); !r.done; r = await it.next()) console.log(r.value.numRows);
 */
import { takeWhile, type Observable, type Unsubscribable } from 'rxjs';

export interface PullOptions {
  /** Values held that the reader has not taken yet; Infinity (the default) holds all. */
  maxQueued?: number;
  /** The error the reader gets once the source runs more than maxQueued values ahead. */
  overrun?: (maxQueued: number) => Error;
}

export function pullObservable<T>(observable: Observable<T>, options: PullOptions = {}): AsyncIterableIterator<T> {
  const maxQueued = options.maxQueued ?? Infinity;
  const queue: T[] = [];
  let head = 0;
  let complete = false;
  let overran = false;
  let failure: { error: unknown } | null = null;
  let wake: (() => void) | null = null;
  let subscription: Unsubscribable | null = null;
  let stopped = false;
  const signal = (): void => { const w = wake; wake = null; w?.(); };
  const drop = (): void => { queue.length = 0; head = 0; };
  const room = (): boolean => {
    if (queue.length - head < maxQueued) return true;
    overran = true;
    return false;
  };
  const iterator: AsyncIterableIterator<T> = {
    [Symbol.asyncIterator]() { return iterator; },
    async next() {
      if (stopped) return { value: undefined, done: true };
      subscription ??= observable.pipe(takeWhile(room)).subscribe({
        next: (value) => { queue.push(value); signal(); },
        error: (error: unknown) => { failure = { error }; signal(); },
        complete: () => { complete = true; signal(); },
      });
      while (head === queue.length && !complete && failure === null && !stopped) await new Promise<void>((resolve) => { wake = resolve; });
      if (stopped) return { value: undefined, done: true }; // return() was called while this call waited
      if (overran) {
        stopped = true;
        drop();
        throw options.overrun?.(maxQueued) ?? new RangeError(`the source ran more than ${maxQueued} values ahead of its reader`);
      }
      if (head < queue.length) {
        const value = queue[head]!;
        queue[head++] = undefined as T; // let it be collected
        if (head > 1024 && head * 2 > queue.length) { queue.splice(0, head); head = 0; }
        return { value, done: false };
      }
      if (failure !== null) throw (failure as { error: unknown }).error;
      return { value: undefined, done: true };
    },
    async return() {
      stopped = true;
      subscription?.unsubscribe();
      drop();
      signal();
      return { value: undefined, done: true };
    },
  };
  return iterator;
}
