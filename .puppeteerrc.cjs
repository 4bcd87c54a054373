// puppeteer-core (a devDependency, drives Firefox in test/browser/) never
// downloads a browser; this keeps a full `puppeteer`, should one ever come in
// through a dependency, from downloading Chrome at install: browsers here come
// from Debian's packages and @sparticuz/chromium only (see GUIDE).
/** @type {import('puppeteer').Configuration} */
module.exports = { skipDownload: true };
