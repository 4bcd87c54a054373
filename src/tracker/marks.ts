/**
 * The handover marks: which of the queue's events were handed to the browser
 * at page hide (`key: -time`) or are known delivered (`key: 0`), shared by
 * the tabs of the origin in localStorage (its writes are synchronous, unlike
 * an IndexedDB write issued as a page unloads). Where localStorage refuses
 * them (full of the site's own data, blocked) they are kept in this page's
 * memory and in this tab's sessionStorage, whose quota is its own: the next
 * page of the tab, the one that decides about a handover, still knows them.
 * Without them it sent again at once what the handover carried, and what a
 * hidden page's 2xx had delivered but its IndexedDB delete not yet removed.
 * Neither where localStorage is not ours to write. What the marks mean for
 * delivery is in outbox.ts.
 */
import { parseJson } from '../lib/parseJson';
import { lsGet, lsSet } from '../lib/storage';
import { isObject } from './recorder';

/** localStorage key of the handover marks. */
export const MARKS = 'firstparty-js:handover';

/** Event key → 0 (delivered) or minus the time it was handed over. */
export type Marks = Record<string, number>;

/** Creates this page's view of the marks; `writable`: localStorage is ours to write. */
export function createMarks(writable: boolean) {
  /** Marks that localStorage refused to hold: this page still knows them, and so does this tab's next page. */
  const earlier = writable && parseJson(lsGet(MARKS, 1));
  let unwritten: Marks = isObject(earlier) ? (earlier as Marks) : {};
  /** The marks as stored: JSON, or null (removed) when there are none. */
  const text = (marks: Marks) => (Object.keys(marks)[0] ? JSON.stringify(marks) : null);
  return {
    /**
     * The marks, read without trusting them (and those only this page
     * holds); `change` changes them, and they are written back to
     * localStorage when it is ours to write, else kept in memory.
     */
    mark(change?: (marks: Marks) => void): Marks {
      const stored = parseJson(lsGet(MARKS));
      const held: Marks = Object.assign(isObject(stored) ? (stored as Marks) : {}, unwritten);
      if (change) {
        change(held);
        unwritten = writable && lsSet(MARKS, text(held)) ? {} : held;
        writable && lsSet(MARKS, text(unwritten), 1);
      }
      return held;
    },
    /** Forgets every mark (opt-out). */
    clear(): void {
      unwritten = {};
      lsSet(MARKS, null);
      lsSet(MARKS, null, 1);
    },
  };
}
