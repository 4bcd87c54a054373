import { findEngines } from './engines.mjs';
import { startSite, waitFor, tally, settle, isPage, byPrefix, trackMany, posts } from './helpers.mjs';
const which = process.argv[2] || 'firefox';
const N = Number(process.argv[3] || 6);
const light = () => {
  window.__marks = [];
  const gi = Storage.prototype.getItem;
  Storage.prototype.getItem = function (k) { const v = gi.call(this, k); if (k === 'firstparty-js:beaconed') window.__marks.push(Math.round(performance.timeOrigin + performance.now()) % 100000 + ' get ' + (v ? JSON.parse(v).length : v)); return v; };
  const si = Storage.prototype.setItem;
  Storage.prototype.setItem = function (k, v) { if (k === 'firstparty-js:beaconed') window.__marks.push(Math.round(performance.timeOrigin + performance.now()) % 100000 + ' set ' + JSON.parse(v).length); return si.call(this, k, v); };
  addEventListener('storage', (e) => { if (e.key === 'firstparty-js:beaconed') window.__marks.push(Math.round(performance.timeOrigin + performance.now()) % 100000 + ' storage event ' + (e.newValue ? JSON.parse(e.newValue).length : e.newValue)); });
};
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
  for (let run = 0; run < N; run++) {
    const s = await b.newSession();
    const site = await startSite({ consoleHook: b.consoleEvents ? undefined : (m) => s.report(m) });
    if (process.env.LIGHT) site.setDefault({ head: `<script>(${light})()</script>` });
    if (process.env.INSTR) site.setDefault({ head: `<script>(${instrument})()</script>` });
    const collector = site.collector;
    const open = async (u) => { const p = await s.newPage(); await p.goto(u); return p; };
    const other = await open(site.url('/other'));
    const closing = await open(site.url('/closing'));
    await waitFor(() => tally(collector, isPage).received === 2);
    await settle(collector, { quietMs: 300 });
    collector.fault({ mode: 'hang', count: 1 });
    await trackMany(closing, { name: 'Mid Flush', prefix: 'mid-', count: 20 });
    await waitFor(() => collector.requests().some((r) => r.fault === 'hang'));
    await trackMany(closing, { name: 'Mid Flush', prefix: 'mid-', count: 5, start: 20 });
    await other.evaluate(() => window.firstparty.track('Other Tab', { k: 'other-0' }));
    await closing.close();
    await waitFor(() => tally(collector, byPrefix('mid-')).received === 25 && tally(collector, byPrefix('other-')).received === 1, { timeout: 40000 });
    const marks = process.env.LIGHT ? await other.evaluate(() => window.__marks) : [];
    const probe = await open(site.url('/away'));
    const laterMark = await probe.evaluate(() => localStorage.getItem('firstparty-js:beaconed'));
    const otherNow = await other.evaluate(() => localStorage.getItem('firstparty-js:beaconed'));
    const later = await open(site.url('/later'));
    await waitFor(() => tally(collector, isPage).received === 3);
    await later.evaluate(() => window.firstparty.flush());
    await settle(collector);
    const t = tally(collector);
    console.log('run', run, t, posts(collector).map((r) => `${r.ms % 100000} ${r.events}ev ${r.status ?? r.fault} dup${r.duplicates}`).join(' | '));
    if (t.duplicates || process.env.LIGHT) console.log('   other tab marker reads:', marks.join(' ; '), '| new tab reads', laterMark && JSON.parse(laterMark).length, '| other tab now reads', otherNow && JSON.parse(otherNow).length);
    if (t.duplicates) { for (const m of s.console) console.log('   ', m.text.slice(0, 200)); const d = collector.duplicateList().map((x) => x.event.properties.k); console.log('   dups', d.join(',')); }
    await s.close(); await site.close();
  }
  await b.close();
}
process.exit(0);
