import { warn } from './log';

/**
 * Wraps a function so that nothing it does can throw: what it throws is
 * warned about as `name() failed`. Every public method is wrapped (nothing
 * throws into the page), and so is every page callback we call (nothing the
 * page's code throws breaks ours).
 */
export function guard<A extends unknown[], R>(name: string, fn: (...args: A) => R) {
  return (...args: A): R | undefined => {
    try {
      return fn(...args);
    } catch (error) {
      warn(name + '() failed', error);
    }
  };
}
