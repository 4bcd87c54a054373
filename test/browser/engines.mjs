// The engines the browser suite runs in, found automatically (an env var,
// then the system path; see each engine's module), and what to say when one
// is missing. Not a test file (no .test.).
import { chromiumEngine } from './chromium.mjs';
import { firefoxEngine } from './firefox.mjs';
import { webkitEngine } from './webkit.mjs';

/** The Debian packages that bring Firefox and WebKit (Chromium comes from npm). */
export const INSTALL_COMMAND = 'apt-get install -y firefox-esr webkit2gtk-driver xvfb';

/**
 * Set by .ci/run: a missing engine then fails the suite instead of skipping,
 * so CI cannot go green on one engine.
 */
export const ENGINES_REQUIRED = process.env.FIRSTPARTY_REQUIRE_ENGINES === '1';

/** Every engine, in the order the suite runs them. */
export const ENGINES = [chromiumEngine, firefoxEngine, webkitEngine];

/**
 * `FIRSTPARTY_ENGINES=webkit` (or `chromium,firefox`, …) runs only those
 * engines, for work on one of them; the others are skipped quietly.
 */
const SELECTED = process.env.FIRSTPARTY_ENGINES ? process.env.FIRSTPARTY_ENGINES.split(',').map((name) => name.trim().toLowerCase()) : undefined;

/**
 * Each engine with where it was found, or why not (`deselected` when
 * FIRSTPARTY_ENGINES leaves it out); for each missing one a loud line naming
 * the install command is printed once per process.
 * @returns {{engine: import('./engine.mjs').Engine, found?: string, missing?: string, deselected?: boolean}[]}
 */
export function findEngines() {
  return ENGINES.map((engine) => {
    if (SELECTED && !SELECTED.includes(engine.name)) return { engine, deselected: true };
    const result = engine.find();
    if (result.missing && !announced.has(engine.name)) {
      announced.add(engine.name);
      console.warn(
        `\n!!!!! ${engine.label} NOT FOUND (${result.missing}): its browser tests ${ENGINES_REQUIRED ? 'FAIL (FIRSTPARTY_REQUIRE_ENGINES=1)' : 'are SKIPPED'}. ` +
          `Install it (as root): apt-get update && ${INSTALL_COMMAND} !!!!!\n`,
      );
    }
    return { engine, ...result };
  });
}
const announced = new Set();
