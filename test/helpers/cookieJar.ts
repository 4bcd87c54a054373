import { vi } from 'vitest';

interface StoredCookie {
  name: string;
  value: string;
  domain: string;
  expires: number;
}

export interface CookieJarOptions {
  /** Return false to refuse a write (the raw `document.cookie = …` string). */
  accept?: (cookie: string) => boolean;
  /** Reading and writing `document.cookie` throws (a sandboxed iframe). */
  throws?: boolean;
}

/**
 * Replaces `document.cookie` with a controllable jar: it records every write,
 * keeps cookies per name and Domain, and honours `Max-Age` by `Date.now()`
 * (so fake timers expire cookies). Remove it with `removeCookieJar()` (done
 * in afterEach by the suites that use it). (Not vi.spyOn: spying on both the
 * getter and the setter of one property does not restore cleanly.)
 */
export function installCookieJar({ accept = () => true, throws = false }: CookieJarOptions = {}) {
  const writes: string[] = [];
  const cookies = new Map<string, StoredCookie>();
  const live = () => [...cookies.values()].filter((c) => c.expires > Date.now());
  const refuse = () => {
    throw new DOMException('The operation is insecure.', 'SecurityError');
  };
  Object.defineProperty(document, 'cookie', {
    configurable: true,
    get() {
      if (throws) refuse();
      return live()
        .map((c) => c.name + '=' + c.value)
        .join('; ');
    },
    set(text: string) {
      writes.push(text);
      if (throws) refuse();
      if (!accept(text)) return;
      const [pair, ...attributes] = text.split(/;\s*/);
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      let domain = '';
      let expires = Infinity;
      for (const attribute of attributes) {
        const [key, value = ''] = attribute.split('=');
        if (/^domain$/i.test(key)) domain = value.toLowerCase();
        if (/^max-age$/i.test(key)) expires = Date.now() + +value * 1000;
      }
      const id = name + '|' + domain;
      if (expires <= Date.now()) cookies.delete(id);
      else cookies.set(id, { name, value: pair.slice(eq + 1), domain, expires });
    },
  });
  return {
    /** Every string assigned to `document.cookie`, in order. */
    writes,
    /** The writes that set cookie `name`. */
    writesOf: (name: string) => writes.filter((w) => w.startsWith(name + '=')),
    /** The value of a live cookie (any Domain). */
    get: (name: string) => live().find((c) => c.name === name)?.value,
    /** Drops every cookie (the visitor cleared them). */
    clear: () => cookies.clear(),
  };
}

/** Puts happy-dom's own `document.cookie` back. */
export function removeCookieJar(): void {
  delete (document as any).cookie;
}

/**
 * Makes localStorage refuse writes (and, with `reads`, reads too), as a full
 * quota or blocked storage does. Existing items stay readable unless `reads`.
 * (happy-dom binds Storage methods to the instance on first use, so spying on
 * Storage.prototype is unreliable; the global is replaced instead.) Undo with
 * the returned function or `vi.unstubAllGlobals()`.
 */
export function refuseLocalStorage({ reads = false } = {}): () => void {
  const real = localStorage;
  const fail = (): never => {
    throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  };
  vi.stubGlobal('localStorage', {
    getItem: (key: string) => (reads ? fail() : real.getItem(key)),
    setItem: fail,
    removeItem: fail,
    clear: fail,
    key: (i: number) => (reads ? fail() : real.key(i)),
    get length() {
      return reads ? fail() : real.length;
    },
  });
  return () => vi.unstubAllGlobals();
}
