/**
 * Queue keys: `time.seq.tab` strings that sort in call order. A key is the
 * call's per-tab monotonic time in ms (base 36, 9 characters: a clock stepping
 * backwards does not reorder this tab's events), a sequence number within the
 * ms (4 characters, so 1,679,616 events a ms before the time is pushed on), a
 * dot, then the tab ID, which makes keys unique across tabs and tells whose
 * event a stored record is.
 */

/** Creates the key maker of one tab. */
export function createKeyMaker(tabId: string): () => string {
  let lastTime = 0;
  let sequence = 0;
  return () => {
    const now = Date.now();
    if (now > lastTime) {
      lastTime = now;
      sequence = 0;
    } else if (++sequence > 1679615) {
      lastTime++;
      sequence = 0;
    }
    return lastTime.toString(36).padStart(9, '0') + sequence.toString(36).padStart(4, '0') + '.' + tabId;
  };
}

/** When the event of `key` was recorded, in ms since the epoch. */
export const keyTime = (key: string): number => parseInt(key.slice(0, 9), 36);

/** The ID of the tab that recorded the event of `key`. */
export const keyTab = (key: string): string => key.slice(14);

/** The keys of queue records (`[key, json]`). */
export const keysOf = (records: [string, string][]): string[] => records.map(([key]) => key);

/** Whether `key` has the shape of our keys (anything else in the store is not ours to send). */
export const isKey = (key: unknown): key is string => typeof key === 'string' && /^[\da-z]{13}\./.test(key);
