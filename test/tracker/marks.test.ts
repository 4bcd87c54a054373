import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMarks, MARKS } from '../../src/tracker/marks';
import { refuseLocalStorage } from '../helpers/cookieJar';

const inLocal = () => localStorage.getItem(MARKS);
const inSession = () => sessionStorage.getItem(MARKS);

beforeEach(() => {
  localStorage.clear();
  sessionStorage.clear();
});
afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
  sessionStorage.clear();
});

describe('handover marks', () => {
  it('are kept in localStorage, shared by the tabs of the origin; none in sessionStorage', () => {
    createMarks(true).mark((marks) => (marks.k1 = -5));
    expect(JSON.parse(inLocal()!)).toEqual({ k1: -5 });
    expect(inSession()).toBeNull();
    expect(createMarks(true).mark()).toEqual({ k1: -5 });
  });

  it("that localStorage refuses (full) are kept in this page's memory and in this tab's sessionStorage: the tab's next page knows them", () => {
    const restore = refuseLocalStorage();
    const page = createMarks(true);
    page.mark((marks) => (marks.k1 = -5));
    page.mark((marks) => (marks.k2 = 0));
    expect(page.mark()).toEqual({ k1: -5, k2: 0 });
    expect(JSON.parse(inSession()!)).toEqual({ k1: -5, k2: 0 });
    // The next page of the tab, localStorage still full.
    const next = createMarks(true);
    expect(next.mark()).toEqual({ k1: -5, k2: 0 });
    next.mark((marks) => delete marks.k2);
    expect(JSON.parse(inSession()!)).toEqual({ k1: -5 });
    restore();
    expect(inLocal()).toBeNull();
  });

  it('move back to localStorage once it takes them again (the sessionStorage copy goes)', () => {
    const restore = refuseLocalStorage();
    createMarks(true).mark((marks) => (marks.k1 = -5));
    restore();
    const next = createMarks(true);
    next.mark((marks) => (marks.k2 = 0));
    expect(JSON.parse(inLocal()!)).toEqual({ k1: -5, k2: 0 });
    expect(inSession()).toBeNull();
  });

  it('where localStorage is not ours to write (storage none/memory): memory only, nothing in either storage, nothing read from sessionStorage', () => {
    sessionStorage.setItem(MARKS, JSON.stringify({ old: -1 }));
    const page = createMarks(false);
    page.mark((marks) => (marks.k1 = -5));
    expect(page.mark()).toEqual({ k1: -5 });
    expect(inLocal()).toBeNull();
    expect(JSON.parse(inSession()!)).toEqual({ old: -1 });
  });

  it('a damaged sessionStorage copy is ignored', () => {
    sessionStorage.setItem(MARKS, '[1,2]');
    expect(createMarks(true).mark()).toEqual({});
    sessionStorage.setItem(MARKS, '{broken');
    expect(createMarks(true).mark()).toEqual({});
  });

  it('clear() (opt-out) forgets them everywhere', () => {
    const restore = refuseLocalStorage();
    const page = createMarks(true);
    page.mark((marks) => (marks.k1 = -5));
    restore();
    localStorage.setItem(MARKS, JSON.stringify({ k2: 0 }));
    page.clear();
    expect(inLocal()).toBeNull();
    expect(inSession()).toBeNull();
    expect(page.mark()).toEqual({});
  });
});
