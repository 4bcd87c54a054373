/**
 * One timer for a callback, where the earliest time asked for wins: a
 * pending 10 s wait never swallows a 1 s one, and a later time does not
 * move an earlier one. Times are ms since the epoch.
 */
export function createTimer(fire: () => unknown) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let due = 0;
  const clear = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return {
    /** Fires at `time`, unless it is already due sooner. */
    at(time: number): void {
      if (timer && due <= time) return;
      clear();
      due = time;
      timer = setTimeout(() => ((timer = undefined), fire()), time - Date.now());
    },
    /** Cancels what is due. */
    clear,
  };
}

/** Resolves in a later task, after `ms` (0 by default): lets the browser run what waits, render, collect garbage. */
export const nextTask = (ms?: number) => new Promise((resolve) => setTimeout(resolve, ms));
