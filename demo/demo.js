// The demo page's own code: an ES module (its own scope, strict), loaded
// deferred by index.html. No build step, no framework.
// Rule: everything that came from the collector or the library is written with
// textContent, never innerHTML — the log shows hostile payloads verbatim.

var COLLECTOR = document.body.dataset.collector;
var PAGE_ORIGIN = document.body.dataset.pageOrigin;
var WRITE_KEY = document.body.dataset.writeKey;
// 'proxy' (/?host=proxy: events through this origin's /fp path) or 'direct'.
var PROXIED = document.body.dataset.hostMode === 'proxy';
var MAX_ENTRIES = 300;
// A name of 3,000 characters filled screens: titles are cut (the JSON below
// each entry keeps everything), and so is the status line.
var TITLE_CHARS = 120;
var STATUS_CHARS = 300;
var QUEUE_DB = 'firstparty-js';
var QUEUE_STORE = 'events';

var $ = function (id) { return document.getElementById(id); };

// ---- calling the library --------------------------------------------------

/** Call firstparty[name] if it exists (some methods may land later); never throws. */
function call(name) {
  var args = Array.prototype.slice.call(arguments, 1);
  var fp = window.firstparty;
  if (!fp || typeof fp[name] !== 'function') {
    status('firstparty.' + name + '() is not available in this build');
    return undefined;
  }
  try {
    return fp[name].apply(fp, args);
  } catch (err) {
    status('firstparty.' + name + '() threw: ' + (err && err.message));
    return undefined;
  }
}

function status(text) {
  $('status').textContent = cut(text, STATUS_CHARS);
}

/** `text` cut to `max` characters, marked with … when cut. */
function cut(text, max) {
  text = String(text);
  return text.length > max ? text.slice(0, max) + '…' : text;
}

/** "1 event", "2 events". */
function plural(n, noun) {
  return n + ' ' + noun + (n === 1 ? '' : 's');
}

function onClick(id, fn) {
  $(id).addEventListener('click', fn);
}

$('track-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var props = parseProps();
  if (props === undefined) return;
  var name = $('track-name').value;
  call('track', name, props);
  status('track(' + cut(JSON.stringify(name), TITLE_CHARS) + ')' + nameless(name));
});

onClick('btn-track-burst', function () {
  var props = parseProps();
  if (props === undefined) return;
  var name = $('track-name').value;
  for (var i = 1; i <= 20; i++) {
    call('track', name, Object.assign({}, props, { burst_index: i }));
  }
  status('track() ×20' + nameless(name));
});

/** What the status adds for a name the library will drop (it trims names and drops empty ones). */
function nameless(name) {
  return name.trim() ? '' : ' — nothing sent: the library drops an event without a name (its warning is in the console)';
}

function parseProps() {
  var text = $('track-props').value.trim();
  if (!text) return {};
  try {
    var value = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
    status('Properties must be a JSON object');
  } catch (err) {
    status('Properties are not valid JSON: ' + err.message);
  }
  return undefined;
}

onClick('btn-page', function () { call('page'); status('page()'); });

function go(path) {
  history.pushState({ demo: path }, '', path);
  showPath();
  status('pushState → ' + path);
}
onClick('btn-spa-pricing', function () { go('/spa/pricing'); });
onClick('btn-spa-docs', function () { go('/spa/docs'); });
onClick('btn-spa-back', function () { status('history.back()…'); history.back(); });
window.addEventListener('popstate', function () {
  showPath();
  status('popstate → ' + location.pathname + location.search);
});
function showPath() { $('current-path').textContent = location.pathname + location.search; }

$('identify-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var id = $('identify-id').value.trim();
  var traits = {};
  if ($('identify-email').value.trim()) traits.email = $('identify-email').value.trim();
  call('identify', id || undefined, traits);
  status('identify(' + (id ? JSON.stringify(id) : 'undefined') + ', ' + JSON.stringify(traits) + ')');
});
onClick('btn-reset', function () { call('reset'); status('reset()'); });

// Attached once; the stub queues them until the script has loaded.
call('trackLink', $('tracked-link'), 'Link Clicked', { link: 'demo tracked link' });
call('trackForm', $('tracked-form'), 'Form Completed', { form: 'demo tracked form' });

onClick('btn-opt-out', function () { call('optOut'); status('optOut()'); });
onClick('btn-opt-in', function () { call('optIn'); status('optIn()'); });
onClick('btn-consent-yes', function () { call('consent', true); status('consent(true)'); });
onClick('btn-consent-no', function () { call('consent', false); status('consent(false)'); });

onClick('btn-flush', function () {
  status('flush()…');
  Promise.resolve(call('flush')).then(
    function (result) { status('flush() resolved' + (result === undefined || Array.isArray(result) ? '' : ': ' + safeJson(result, 200))); },
    function (err) { status('flush() rejected: ' + (err && err.message)); }
  );
});
$('debug-toggle').addEventListener('change', function (e) { call('debug', e.target.checked); });

// ---- the page's own queue state ---------------------------------------------

function describeLibraryEvent(type, info) {
  var n = info && (typeof info.count === 'number' ? info.count
    : Array.isArray(info.events) ? info.events.length
    : Array.isArray(info.batch) ? info.batch.length : undefined);
  var st = info && (info.status || info.error || info.reason);
  return type + (n !== undefined ? ' ' + n + ' event' + (n === 1 ? '' : 's') : '') +
    (st ? ' (' + (st.message || st) + ')' : '') + ' at ' + new Date().toLocaleTimeString();
}
/**
 * What the collector's answer said it rejected, as the library reports it in
 * its `sent` detail: `rejections` ([{index, event_id, reason, message}], as
 * the collector answers) or at least a `rejected` count. A library that does
 * not report it leaves both out, and the card then shows plain `sent`.
 */
function rejectionsOf(info) {
  var list = info && Array.isArray(info.rejections) ? info.rejections : [];
  var n = info && typeof info.rejected === 'number' ? info.rejected : list.length;
  var reasons = [];
  list.forEach(function (r) { if (r && r.reason && reasons.indexOf(String(r.reason)) < 0) reasons.push(String(r.reason)); });
  return { count: n, reasons: reasons };
}
['sent', 'failed', 'dropped'].forEach(function (type) {
  call('on', type, function (info) {
    try {
      var text = describeLibraryEvent(type, info);
      var rejected = type === 'sent' ? rejectionsOf(info) : { count: 0, reasons: [] };
      if (rejected.count > 0) {
        text += ' — ' + rejected.count + ' rejected by the collector' + (rejected.reasons.length ? ': ' + cut(rejected.reasons.join(', '), 200) : '');
      }
      $('last-flush').textContent = text;
      $('last-flush').dataset.result = rejected.count > 0 ? 'rejected' : type;
      $('last-flush-json').textContent = type + ' ' + safeJson(info, 4000);
    } catch (err) { /* a display problem must not reach the library */ }
  });
});

/**
 * Count the events waiting in the library's IndexedDB store, read-only.
 * Never creates the database: an upgrade (= it does not exist yet) is aborted,
 * and the connection closes at once so it never blocks the library's own upgrade.
 */
function countQueue() {
  return new Promise(function (resolve) {
    if (!window.indexedDB) return resolve('IndexedDB unavailable');
    var created = false;
    var req;
    try { req = indexedDB.open(QUEUE_DB); } catch (err) { return resolve('unavailable'); }
    req.onupgradeneeded = function () { created = true; req.transaction.abort(); };
    req.onerror = function (e) { if (e && e.preventDefault) e.preventDefault(); resolve(created ? 'no queue yet' : 'unavailable'); };
    req.onblocked = function () { resolve('busy'); };
    req.onsuccess = function () {
      var db = req.result;
      db.onversionchange = function () { db.close(); };
      try {
        if (!db.objectStoreNames.contains(QUEUE_STORE)) { db.close(); return resolve('no queue yet'); }
        var tx = db.transaction(QUEUE_STORE, 'readonly');
        var countReq = tx.objectStore(QUEUE_STORE).count();
        countReq.onsuccess = function () { resolve(countReq.result); };
        countReq.onerror = function () { resolve('unavailable'); };
        tx.oncomplete = tx.onabort = function () { db.close(); };
      } catch (err) {
        db.close();
        resolve('unavailable');
      }
    };
  });
}

function refreshState() {
  countQueue().then(function (n) {
    $('queue-count').textContent = typeof n === 'number' ? n + (n === 1 ? ' event' : ' events') : n;
  });
  var fp = window.firstparty;
  var p = fp && typeof fp.getProfileId === 'function' ? safeCall(fp, 'getProfileId') : undefined;
  var s = fp && typeof fp.getSessionId === 'function' ? safeCall(fp, 'getSessionId') : undefined;
  // The stub returns itself (an array) until the script has loaded.
  $('profile-id').textContent = typeof p === 'string' && p ? p : '–';
  $('session-id').textContent = typeof s === 'string' && s ? s : '–';
}
function safeCall(obj, name) { try { return obj[name](); } catch (err) { return undefined; } }
setInterval(refreshState, 1000);
refreshState();
showPath();

// ---- fault switch and clear --------------------------------------------------

/** POST to the demo API; rejects with the server's message on a non-2xx answer. */
function post(path, body) {
  return fetch(COLLECTOR + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {}),
  }).then(function (res) {
    return res.json().then(function (json) {
      if (!res.ok) throw new Error((json && json.message) || 'HTTP ' + res.status);
      return json;
    });
  });
}

$('fault-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var spec = { mode: $('fault-mode').value, count: Number($('fault-count').value) || 1 };
  if ($('fault-retry').value !== '') spec.retryAfter = Number($('fault-retry').value);
  post('/demo/fault', spec).then(function (r) { showFault(r.fault); status('fault switch: ' + $('fault-state').textContent); },
    function (err) { status('could not set the fault switch: ' + err.message); });
});
onClick('btn-fault-off', function () {
  post('/demo/fault', { mode: 'off' }).then(function (r) { showFault(r.fault); status('fault switch off'); },
    function (err) { status('could not reach the collector: ' + err.message); });
});
onClick('btn-clear', function () {
  post('/demo/clear').then(function () { status('collector cleared'); },
    function (err) { status('could not reach the collector: ' + err.message); });
});

function showFault(f) {
  if (!f) return;
  var text = f.mode === 'off' ? 'off'
    : f.mode + ' for the next ' + (f.remaining > 1e9 ? '∞' : f.remaining) + ' request' + (f.remaining === 1 ? '' : 's') +
      (f.retryAfter !== undefined ? ', Retry-After: ' + f.retryAfter + ' s' : '');
  $('fault-state').textContent = text;
  $('fault-state').dataset.mode = f.mode;
}

// ---- the collector log (a small Debugger) ------------------------------------

var entries = []; // newest first: {kind, record}
var pending = []; // arrivals while paused, oldest first
var live = true;
var counts = { events: 0, duplicates: 0, rejected: 0 };
var limits = null; // the collector's, from the snapshot

onClick('btn-live', function () {
  live = !live;
  var btn = $('btn-live');
  btn.setAttribute('aria-pressed', String(live));
  btn.textContent = live ? '● Live' : '❚❚ Paused';
  if (live) {
    pending.forEach(function (item) { entries.unshift(item); });
    pending = [];
    render();
  } else {
    showPaused();
  }
});

function showPaused() {
  var note = $('paused-note');
  note.hidden = live;
  note.textContent = 'Paused — ' + pending.length + ' new item' + (pending.length === 1 ? '' : 's') + ' held back.';
}

function add(kind, record) {
  if (kind === 'event') counts.events++;
  else if (kind === 'duplicate') counts.duplicates++;
  else if (kind === 'rejected') counts.rejected++;
  showCounts();
  if (!live) { pending.push({ kind: kind, record: record }); showPaused(); return; }
  entries.unshift({ kind: kind, record: record });
  if (entries.length > MAX_ENTRIES) entries.length = MAX_ENTRIES;
  var log = $('log');
  log.insertBefore(renderEntry(entries[0]), log.firstChild);
  while (log.children.length > MAX_ENTRIES) log.removeChild(log.lastChild);
}

function showCounts() {
  $('count-events').textContent = plural(counts.events, 'event');
  $('count-duplicates').textContent = plural(counts.duplicates, 'duplicate');
  $('count-rejected').textContent = counts.rejected + ' rejected';
  showKept();
}

function render() {
  var log = $('log');
  var frag = document.createDocumentFragment();
  entries.slice(0, MAX_ENTRIES).forEach(function (item) { frag.appendChild(renderEntry(item)); });
  log.replaceChildren(frag);
  showPaused();
}

function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function renderEntry(item) {
  var r = item.record || {};
  var li = el('li', 'entry entry--' + item.kind);
  li.dataset.kind = item.kind;
  var details = el('details');
  var summary = el('summary');
  var label, title, when, detail;
  if (item.kind === 'event') {
    var ev = r.event || {};
    label = 'event'; title = ev.name; when = r.received_at;
    detail = ev.event_id ? 'id ' + ev.event_id : '';
  } else if (item.kind === 'duplicate') {
    label = 'duplicate'; title = r.name; when = r.received_at; detail = 'already stored: ' + r.event_id;
  } else if (item.kind === 'rejected') {
    var what = r.item && typeof r.item === 'object' && typeof r.item.name === 'string' ? ' · ' + r.item.name : '';
    label = 'rejected'; title = r.reason; when = r.received_at;
    detail = r.message + (r.index !== undefined ? ' (#' + r.index + ')' : '') + what;
  } else {
    label = r.fault ? 'fault ' + r.fault : 'HTTP ' + r.status;
    title = r.method + ' ' + r.path; when = r.time;
    detail = plural(r.events, 'event') + ', ' + r.bytes + ' bytes' + (r.status ? ' → ' + r.status : ' → no answer') + carried(r);
  }
  summary.appendChild(el('span', 'badge badge--' + item.kind, label));
  summary.appendChild(el('span', 'entry-name', title === undefined ? '(none)' : cut(title, TITLE_CHARS)));
  summary.appendChild(el('time', 'entry-time', when ? new Date(when).toLocaleTimeString() : ''));
  if (detail) summary.appendChild(el('span', 'entry-detail', cut(detail, 2 * TITLE_CHARS)));
  details.appendChild(summary);
  details.appendChild(el('pre', 'entry-json', safeJson(r, 20000)));
  li.appendChild(details);
  return li;
}

/** A faulted request's log line: the names it carried (nothing of it was stored). */
function carried(r) {
  if (!Array.isArray(r.carried) || !r.carried.length) return '';
  var names = r.carried.map(function (c) { return c && typeof c.name === 'string' ? c.name : '?'; });
  var more = r.events - names.length;
  return ' · carried ' + names.join(', ') + (more > 0 ? ' and ' + more + ' more' : '');
}

function safeJson(value, max) {
  var text;
  try { text = JSON.stringify(value, null, 2); } catch (err) { text = String(value); }
  if (text === undefined) text = String(value);
  return text.length > max ? text.slice(0, max) + '…' : text;
}

function loadSnapshot(snap) {
  counts = { events: snap.counts.events, duplicates: snap.counts.duplicates, rejected: snap.counts.rejected };
  showCounts();
  showFault(snap.fault);
  showKeyWarning(snap.write_keys);
  limits = snap.limits || null;
  showKept();
  var all = [];
  snap.events.forEach(function (r) { all.push({ kind: 'event', record: r }); });
  snap.duplicates.forEach(function (r) { all.push({ kind: 'duplicate', record: r }); });
  snap.rejected.forEach(function (r) { all.push({ kind: 'rejected', record: r }); });
  snap.failed_requests.forEach(function (r) { all.push({ kind: 'request', record: r }); });
  all.sort(function (a, b) { return b.record.seq - a.record.seq; });
  entries = all.slice(0, MAX_ENTRIES);
  pending = [];
  render();
  var other = $('other-origin');
  var target = PAGE_ORIGIN === COLLECTOR ? snap.second_origin : COLLECTOR + '/';
  if (target) {
    // The other origin in the same host mode.
    other.href = target + (PROXIED ? '?host=proxy' : '');
    other.textContent = PAGE_ORIGIN === COLLECTOR ? 'same page on a second origin' : 'same page on the collector origin';
    other.hidden = false;
  }
}

/** A page loaded with a write key the collector does not accept: every event of it will be rejected. */
function showKeyWarning(keys) {
  var note = $('key-warning');
  note.hidden = !Array.isArray(keys) || keys.indexOf(WRITE_KEY) >= 0;
  note.textContent = note.hidden ? '' : 'This collector does not accept the write key ' + JSON.stringify(cut(WRITE_KEY, 80)) +
    ': every event is answered 200 but rejected (unknown_write_key). It accepts ' + keys.map(function (k) { return JSON.stringify(cut(k, 80)); }).join(', ') +
    ' (FP_WRITE_KEYS when starting the demo).';
}

/** Once more arrived than the collector keeps (a ring buffer), say so: the oldest are gone. */
function showKept() {
  var note = $('kept-note');
  note.hidden = !limits || (counts.events <= limits.maxEvents && counts.rejected <= limits.maxRejected);
  note.textContent = note.hidden ? '' : 'The collector keeps only the newest ' + limits.maxEvents.toLocaleString('en') + ' events and ' +
    limits.maxRejected.toLocaleString('en') + ' rejected items; the counts include the older ones.';
}

$('cross-origin-note').textContent = PAGE_ORIGIN === COLLECTOR ? '(same origin)'
  : PROXIED ? '(events same-origin, through /fp)' : '(cross-origin: CORS preflight)';

function connect() {
  if (!window.EventSource) { $('stream-state').textContent = '· no EventSource in this browser'; return; }
  var source = new EventSource(COLLECTOR + '/demo/stream');
  source.addEventListener('open', function () { $('stream-state').textContent = '· connected'; });
  source.addEventListener('error', function () { $('stream-state').textContent = '· reconnecting…'; });
  var on = function (type, fn) {
    source.addEventListener(type, function (e) {
      try { fn(JSON.parse(e.data)); } catch (err) { /* ignore a bad message */ }
    });
  };
  on('snapshot', loadSnapshot);
  on('event', function (r) { add('event', r); });
  on('duplicate', function (r) { add('duplicate', r); });
  on('rejected', function (r) { add('rejected', r); });
  on('request', function (r) { if (r.fault || (r.status !== null && r.status >= 300)) add('request', r); });
  on('fault', showFault);
  on('clear', function () { counts = { events: 0, duplicates: 0, rejected: 0 }; showCounts(); entries = []; pending = []; render(); showFault({ mode: 'off' }); });
}
connect();
