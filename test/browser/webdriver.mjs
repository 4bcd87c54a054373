// A minimal classic (W3C, HTTP) WebDriver client: start a driver process on a
// free local port, open a session, send commands. Plain `fetch`, no
// dependency: WebKitWebDriver speaks only this protocol (no BiDi), and the
// dozen endpoints the browser suite needs do not justify webdriverio or
// selenium-webdriver. Not a test file (no .test.).
import { spawn } from 'node:child_process';
import net from 'node:net';

/** A free TCP port on 127.0.0.1 (the driver has no `--port=0`). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {net.AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Stoppers of the processes started here and still running. */
const running = new Set();
let exitHooked = false;

/**
 * Runs `stop` when this process exits, unless the returned function is
 * called first: a test process that dies must not leave a driver, browser or
 * display behind. One `exit` listener for all of them.
 * @param {() => void} stop @returns {() => void} stop, now and once
 */
export function stopOnExit(stop) {
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => running.forEach((fn) => fn()));
  }
  const once = () => {
    if (running.delete(once)) stop();
  };
  running.add(once);
  return once;
}

/** An error answered by the driver, with its W3C error code (`javascript error`, `no such window`, …). */
export class WebDriverError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}

/**
 * Sends one command to a driver at `base` (`http://127.0.0.1:port`) and
 * returns its `value`; throws a WebDriverError when it answers an error.
 */
export async function command(base, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const { value } = await response.json();
  if (!response.ok || (value && value.error)) throw new WebDriverError(value?.error ?? response.status, value?.message ?? '');
  return value;
}

/**
 * Starts a driver executable on a free port (with `env`) and resolves once it
 * answers `/status`. A port taken between the probe and the driver's bind
 * (other processes on the machine start servers too) is retried with another.
 * @returns {Promise<{base: string, process: import('node:child_process').ChildProcess, stop: () => void}>}
 */
export async function startDriver(executable, env, { attempts = 3, timeout = 10_000 } = {}) {
  let lastError;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = await freePort();
    // Its own process group, so stop() also ends the browser it spawned.
    const child = spawn(executable, [`--port=${port}`], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2000)));
    const stop = stopOnExit(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    });
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + timeout;
    while (child.exitCode === null && Date.now() < deadline) {
      try {
        const status = await command(base, 'GET', '/status');
        if (status?.ready !== false) return { base, process: child, stop };
      } catch {
        // Not listening yet.
      }
      await pause(50);
    }
    stop();
    lastError = new Error(`${executable} did not start on port ${port}: ${stderr.trim() || 'no output'}`);
  }
  throw lastError;
}

/**
 * One WebDriver session. Commands are queued and run one at a time: the
 * protocol addresses "the current window", so a command for a window must
 * not be interleaved with another window's switch (`inWindow`).
 */
export class WebDriverSession {
  /** @param {string} base @param {string} id @param {object} capabilities */
  constructor(base, id, capabilities) {
    this.base = base;
    this.id = id;
    this.capabilities = capabilities;
    this.current = undefined;
    this.chain = Promise.resolve();
  }

  /** Opens a session with `capabilities` (the `alwaysMatch` object). */
  static async create(base, capabilities) {
    const { sessionId, capabilities: granted } = await command(base, 'POST', '/session', { capabilities: { alwaysMatch: capabilities } });
    return new WebDriverSession(base, sessionId, granted);
  }

  /** Runs `fn(send)` alone in the queue; `send(method, path, body)` is a command of this session. */
  exclusive(fn) {
    const send = (method, path, body) => command(this.base, method, `/session/${this.id}${path}`, body);
    const run = this.chain.then(() => fn(send));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** One command of this session, queued. */
  send(method, path, body) {
    return this.exclusive((send) => send(method, path, body));
  }

  /** Runs `fn(send)` with `handle` as the current window. */
  inWindow(handle, fn) {
    return this.exclusive(async (send) => {
      if (this.current !== handle) {
        await send('POST', '/window', { handle });
        this.current = handle;
      }
      return fn(send);
    });
  }

  /** Ends the session (the driver closes the browser). */
  delete() {
    return this.exclusive((send) => send('DELETE', ''));
  }
}
