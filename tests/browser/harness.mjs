// The pieces every browser test shares: a statusd (and, where asked, a
// redis-server) started on a free port in a temp dir and stopped by pid,
// Debian's chromium driven by playwright-core, and a runner that reports a
// failure with the server's log and always stops what it started.
//
// ctest sets SD_TEST_BIN (the statusd binary), SD_TEST_SOURCE_DIR (the
// source tree, statusd's working directory as in the C tests) and
// SD_BROWSER_OUT (where screenshots go, in the build folder).

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// Far longer than a correct server or page ever needs.
export const DEADLINE_MS = 20000;

const started = [];

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run the browser tests through ctest)`);
  return v;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// A TCP port nothing listens on right now.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Where screenshots and other artefacts of the browser tests go.
export function outDir() {
  const dir = need('SD_BROWSER_OUT');
  mkdirSync(dir, { recursive: true });
  return dir;
}

function track(name, child, dir, log) {
  const proc = {
    name,
    pid: child.pid,
    log,
    exited: false,
    logText() {
      try {
        return readFileSync(log, 'utf8');
      } catch {
        return '';
      }
    },
    async stop() {
      if (!proc.exited) {
        process.kill(child.pid, 'SIGTERM');
        const until = Date.now() + DEADLINE_MS;
        while (!proc.exited && Date.now() < until) await sleep(20);
        if (!proc.exited) process.kill(child.pid, 'SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  child.on('exit', () => {
    proc.exited = true;
  });
  started.push(proc);
  return proc;
}

function launch(name, bin, args, cwd) {
  const dir = mkdtempSync(join(tmpdir(), `${name}-browser-`));
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(bin, args, { cwd: cwd ?? dir, stdio: ['ignore', fd, fd] });
  return { child, dir, log };
}

async function until(what, proc, check) {
  const limit = Date.now() + DEADLINE_MS;
  while (Date.now() < limit) {
    if (proc.exited) throw new Error(`${proc.name} exited while ${what}:\n${proc.logText()}`);
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`${proc.name} not ready after ${DEADLINE_MS} ms (${what}):\n${proc.logText()}`);
}

// A redis-server on a free port in a temp dir, without persistence.
// Returns { url, port, pid, stop() }.
export async function startRedis() {
  const port = await freePort();
  const { child, dir, log } = launch('redis', '/usr/bin/redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
  ]);
  const proc = track('redis-server', child, dir, log);
  await until('starting', proc, async () => proc.logText().includes('Ready to accept connections'));
  return { url: `redis://127.0.0.1:${port}/0`, port, pid: proc.pid, stop: proc.stop };
}

// statusd on a free port, bound to 127.0.0.1, memory store unless args
// say otherwise (later flags win), working in the source tree like the C
// tests. Returns { url, port, pid, log, stop() } once /health answers 200.
export async function startStatusd(args = []) {
  const bin = need('SD_TEST_BIN');
  const port = await freePort();
  const argv = ['--port', String(port), '--set', 'bind=127.0.0.1', '--store', 'memory', ...args];
  const { child, dir, log } = launch('statusd', bin, argv, need('SD_TEST_SOURCE_DIR'));
  const proc = track('statusd', child, dir, log);
  const url = `http://127.0.0.1:${port}`;
  await until('starting', proc, async () => {
    try {
      return (await fetch(`${url}/health`)).status === 200;
    } catch {
      return false;
    }
  });
  return { url, port, pid: proc.pid, log: proc.logText, stop: proc.stop };
}

// Headless chromium (Debian's, or $CHROMIUM). Closed by run() at the end.
export async function startBrowser() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Root in a container has no user namespaces for the sandbox.
    chromiumSandbox: false,
    timeout: DEADLINE_MS,
  });
  started.push({ name: 'chromium', stop: () => browser.close(), logText: () => '' });
  return browser;
}

export function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

// Runs the named test cases in order; prints one line per case, stops
// everything started, exits 1 when any failed.
export async function run(cases) {
  let failed = 0;
  for (const [name, fn] of Object.entries(cases)) {
    const before = started.length;
    try {
      await fn();
      console.log(`ok   ${name}`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${name}\n${err && err.stack ? err.stack : err}`);
      for (const p of started.slice(before)) {
        const text = p.logText();
        if (text) console.log(`--- ${p.name} log ---\n${text}`);
      }
    }
    for (const p of started.splice(before).reverse()) {
      try {
        await p.stop();
      } catch (err) {
        console.log(`stopping ${p.name}: ${err}`);
      }
    }
  }
  console.log(failed ? `${failed} of ${Object.keys(cases).length} failed` : 'all passed');
  process.exit(failed ? 1 : 0);
}

// A page of the app's own origin: html served at / of a plain HTTP server
// on another free port of 127.0.0.1 (a different origin than statusd's).
// Returns its origin; run() stops it.
export async function servePage(html) {
  const { createServer: createHttp } = await import('node:http');
  const port = await freePort();
  const srv = createHttp((req, res) => {
    res.writeHead(req.url === '/' ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(req.url === '/' ? html : '');
  });
  await new Promise((resolve, reject) => {
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', resolve);
  });
  started.push({
    name: 'page server',
    stop: () => new Promise((resolve) => srv.close(() => resolve())),
    logText: () => '',
  });
  return `http://127.0.0.1:${port}`;
}
