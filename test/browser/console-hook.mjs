// The in-page console hook for engines whose driver reports no console
// messages or page errors (WebKit); startSite serves it. Not a test file.

/**
 * The in-page side of the console hook, for engines whose driver reports no
 * page errors or console messages (WebKitWebDriver has no BiDi): served as the
 * first script of every tracked page, it forwards uncaught errors, unhandled
 * rejections and console.warn/error to the page server (`POST /__console`,
 * same origin, by sendBeacon so a message written as the page unloads still
 * arrives). Messages logged before it runs are not seen.
 */
export const CONSOLE_HOOK = `(function () {
  var send = function (type, text) {
    try { navigator.sendBeacon('/__console', JSON.stringify({ type: type, text: String(text).slice(0, 1000), url: location.href })); } catch (e) {}
  };
  addEventListener('error', function (e) { send('pageerror', e.message); });
  addEventListener('unhandledrejection', function (e) { send('pageerror', 'Unhandled rejection: ' + (e.reason && e.reason.message || e.reason)); });
  ['warn', 'error'].forEach(function (level) {
    var original = console[level];
    console[level] = function () {
      send(level, [].map.call(arguments, function (a) { return a instanceof Error ? a.message : typeof a == 'object' ? JSON.stringify(a) : String(a); }).join(' '));
      return original.apply(this, arguments);
    };
  });
})();`;
