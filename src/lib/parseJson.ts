/**
 * `JSON.parse`, or `undefined` for anything that is not JSON (a corrupt queue
 * record, a damaged localStorage value, a non-string): stored data is read
 * without trusting it.
 */
export function parseJson(json: unknown): any {
  try {
    return JSON.parse(json as string);
  } catch {
    // Not JSON.
  }
}
