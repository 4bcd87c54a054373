// Runs once before any test file: unpacks the Chromium that ships inside
// @sparticuz/chromium (when no system Chromium is found), so that browser test
// files launching at the same moment do not race to write the same binary
// (spawn ETXTBSY, seen on a fresh machine).
import { findChromium } from './browser/chromium.mjs';

export default async function setup() {
  await findChromium();
}
