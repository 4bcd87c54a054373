import { warn } from './log';

/** A handler for one of the library's own events. */
export type Handler = (detail: any) => void;

/** A tiny event emitter for the library's own events (`track`, `sent`, `failed`, `dropped`, …). */
export interface Emitter {
  on(name: string, handler: Handler): void;
  once(name: string, handler: Handler): void;
  off(name: string, handler?: Handler): void;
  emit(name: string, detail?: unknown): void;
}

/** Creates an emitter whose handlers can never throw into our code (they are the site's code). */
export function createEmitter(): Emitter {
  let handlers: [string, Handler, Handler][] = [];
  const emitter: Emitter = {
    on(name, handler) {
      if (typeof handler === 'function') handlers.push([name, handler, handler]);
    },
    once(name, handler) {
      if (typeof handler !== 'function') return;
      const wrapped: Handler = (detail) => {
        emitter.off(name, handler);
        handler(detail);
      };
      handlers.push([name, wrapped, handler]);
    },
    off(name, handler) {
      handlers = handlers.filter(([n, , original]) => n !== name || (handler && original !== handler));
    },
    emit(name, detail) {
      for (const [n, handler] of handlers) {
        if (n === name) {
          try {
            handler(detail);
          } catch (error) {
            warn(name + ' handler threw', error);
          }
        }
      }
    },
  };
  return emitter;
}
