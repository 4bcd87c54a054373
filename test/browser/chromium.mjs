// Finds and launches the Chromium the browser suite drives (playwright-core
// ships no browser). Never downloads anything: `npx playwright install` is not
// needed, and no traffic leaves 127.0.0.1.
import fs from 'node:fs';
import { chromium } from 'playwright-core';

/** System browsers tried, in order, when CHROME_PATH is not set. */
export const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Flags for a quiet, deterministic headless Chromium on a CI machine. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * The Chromium executable: `CHROME_PATH` if set, else a system Chromium/Chrome,
 * else the one packaged in `@sparticuz/chromium` (a devDependency; it unpacks
 * itself to /tmp on first use).
 * @returns {Promise<string>}
 */
export async function findChromium() {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`CHROME_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  for (const candidate of SYSTEM_CHROMIUMS) {
    if (fs.existsSync(candidate)) return candidate;
  }
  const packaged = (await import('@sparticuz/chromium')).default;
  return packaged.executablePath();
}

/**
 * A headless Chromium (a playwright-core Browser).
 * @param {import('playwright-core').LaunchOptions} [options]
 */
export async function launchChromium(options = {}) {
  const executablePath = await findChromium();
  return chromium.launch({
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    ...options,
  });
}
