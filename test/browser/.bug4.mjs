import { findEngines } from './engines.mjs';
import { startSite, waitFor, tally, settle, isPage, byPrefix, trackMany, posts } from './helpers.mjs';
const which = process.argv[2] || 'firefox';
const ROUNDS = Number(process.argv[3] || 10);
const instrument = () => {
  const tag = Math.random().toString(36).slice(2, 5);
  const log = (m) => console.warn('[probe] ' + Math.round(performance.timeOrigin + performance.now()) % 100000 + ' ' + location.pathname + ' ' + m);
  addEventListener('pagehide', (e) => log('pagehide persisted=' + e.persisted), true);
  const ks = (body) => { try { return JSON.parse(body).events.map((e) => (e.properties && e.properties.k) || e.name[0]).join(','); } catch { return '?'; } };
  const of = window.fetch;
  window.fetch = function (url, init) { if (String(url).includes('/events/')) { log('fetch ' + ks(init.body)); return of.apply(this, arguments).then((r) => { log('fetch answered ' + r.status); return r; }, (e) => { log('fetch failed ' + e); throw e; }); } return of.apply(this, arguments); };
  const ob = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = function (url, data) { if (String(url).includes('/events/')) { const r = ob(url, data); log('beacon ' + r + ' size ' + data.size); return r; } return ob(url, data); };
  const gi = Storage.prototype.getItem, si = Storage.prototype.setItem, ri = Storage.prototype.removeItem;
  Storage.prototype.getItem = function (k) { const v = gi.call(this, k); if (k === 'firstparty-js:beaconed') log('get beaconed ' + (v ? JSON.parse(v).length : v)); return v; };
  Storage.prototype.setItem = function (k, v) { if (k === 'firstparty-js:beaconed') log('set beaconed ' + JSON.parse(v).length); return si.call(this, k, v); };
  Storage.prototype.removeItem = function (k) { if (k === 'firstparty-js:beaconed') log('remove beaconed'); return ri.call(this, k); };
};
for (const { engine, found } of findEngines()) {
  if (engine.name !== which || !found) continue;
  const b = await engine.launch();
  const s = await b.newSession();
  const site = await startSite({ consoleHook: b.consoleEvents ? undefined : (m) => s.report(m) });
  const collector = site.collector;
  if (process.env.INSTR) site.setDefault({ head: `<script>(${instrument})()</script>` });
  const open = async (u) => { const p = await s.newPage(); await p.goto(u); return p; };
  const other = await open(site.url('/other'));
  await waitFor(() => tally(collector, isPage).received === 1);
  const t0 = Date.now();
  for (let r = 0; r < ROUNDS; r++) {
    const closing = await open(site.url('/closing' + r));
    await waitFor(() => tally(collector, isPage).received === r + 2);
    await trackMany(closing, { name: 'Closing', prefix: `r${r}-`, count: 5 });
    await closing.close();
    try { await waitFor(() => tally(collector, byPrefix(`r${r}-`)).received === 5, { timeout: 5000 }); } catch (e) { console.log('round', r, 'events not delivered in 5 s'); for (const m of s.console.splice(0)) console.log('   ', m.url.slice(-10), m.text.slice(0, 150)); await other.evaluate(() => window.firstparty.track('Kick', { k: 'kick' + Math.random() })); }
    s.console.splice(0);
  }
  await other.evaluate(() => window.firstparty.flush());
  await settle(collector, { quietMs: 1000 });
  const dups = collector.duplicateList().map((d) => d.event.properties?.k ?? d.event.name);
  console.log(which, ROUNDS, 'rounds in', Date.now() - t0, 'ms', tally(collector), 'dups', dups.join(','));
  console.log(posts(collector).map((r) => `${r.events}ev dup${r.duplicates}`).join(' | '));
  await s.close(); await site.close(); await b.close();
}
process.exit(0);
