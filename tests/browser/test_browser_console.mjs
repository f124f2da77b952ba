// The operations console in headless chromium, served by statusd behind a
// real nginx at the sub-path /ops/: it asks for the admin token and keeps
// it in sessionStorage; a failed job appears with its error; the retry
// button queues it again and the counts move (failed 1 -> 0, then the
// second run completes); a job is found by its id; the cancel button
// stops a running job; a refused token sends the operator back to the
// form. The research handler is a program that fails its first run and
// completes its second after a few seconds, so each state can be seen.

import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assert, DEADLINE_MS, freePort, outDir, run, sleep, startBrowser, startStatusd } from './harness.mjs';

const ADMIN = 'admin-token-for-the-console';
const API = 'api-token-for-the-console';

// A handler program: the first run of a job fails with a message on
// stderr, a later one runs for 3 s and completes; a job whose query is
// "hold" runs for a minute.
function handlerScript(dir) {
  const path = join(dir, 'job.sh');
  writeFileSync(path, `#!/bin/sh
input=$(/usr/bin/cat)
case "$input" in
  *'"hold"'*) /usr/bin/sleep 60; exit 0 ;;
esac
if [ -e "$1/ran-once" ]; then /usr/bin/sleep 3; exit 0; fi
/usr/bin/touch "$1/ran-once"
echo "the upstream API answered 502" >&2
exit 3
`);
  chmodSync(path, 0o755);
  return path;
}

// nginx on a free port serving statusd under /ops/, as a deployment at a
// sub-path does. Returns { url, stop() }.
async function startNginx(statusdPort) {
  const dir = mkdtempSync(join(tmpdir(), 'nginx-console-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location /ops/ { proxy_pass http://127.0.0.1:${statusdPort}/; }
  }
}
`);
  const log = join(dir, 'nginx.log');
  const fd = openSync(log, 'w');
  const child = spawn('/usr/sbin/nginx', ['-p', dir, '-e', 'stderr', '-c', conf],
                      { stdio: ['ignore', fd, fd] });
  let exited = false;
  child.on('exit', () => { exited = true; });
  const url = `http://127.0.0.1:${port}/ops`;
  const until = Date.now() + DEADLINE_MS;
  for (;;) {
    if (exited) throw new Error(`nginx exited:\n${readFileSync(log, 'utf8')}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch { /* not listening yet */ }
    if (Date.now() > until) throw new Error(`nginx did not answer:\n${readFileSync(log, 'utf8')}`);
    await sleep(20);
  }
  return {
    url,
    async stop() {
      if (!exited) {
        process.kill(child.pid, 'SIGTERM');
        const limit = Date.now() + DEADLINE_MS;
        while (!exited && Date.now() < limit) await sleep(20);
        if (!exited) process.kill(child.pid, 'SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function submit(sd, query) {
  const res = await fetch(`${sd.url}/research`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API}` },
    body: JSON.stringify({ query }),
  });
  assert(res.status === 202, `submit answered ${res.status}`);
  return (await res.json()).id;
}

async function jobStatus(sd, id) {
  return (await (await fetch(`${sd.url}/status/${id}`)).json()).status;
}

async function waitStatus(sd, id, want) {
  const limit = Date.now() + DEADLINE_MS;
  let have;
  while (Date.now() < limit) {
    have = await jobStatus(sd, id);
    if (have === want) return;
    await sleep(50);
  }
  throw new Error(`job ${id} is ${have}, expected ${want}`);
}

async function tile(page, id) {
  return (await page.textContent(`#${id}`)).trim();
}

async function waitTile(page, id, want) {
  await page.waitForFunction(([el, v]) => document.getElementById(el).textContent.trim() === v,
                             [id, want], { timeout: DEADLINE_MS });
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'console-handler-'));
  const script = handlerScript(dir);
  const sd = await startStatusd([
    '--set', `admin_token=${ADMIN}`, '--set', `api_token=${API}`,
    '--set', `handler_research=exec:${script} ${dir}`, '--set', 'max_attempts=1',
    '--set', 'workers=2', '--set', 'ratelimit_submit=0',
  ]);
  const nginx = await startNginx(sd.port);
  const browser = await startBrowser();
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  page.setDefaultTimeout(DEADLINE_MS);
  const stop = async () => {
    await nginx.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  return { sd, nginx, page, stop };
}

async function signIn(page, url, token) {
  await page.goto(`${url}/console`);
  await page.waitForSelector('#login:not([hidden])');
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
}

await run({
  async 'a failed job appears, its retry queues it again and the counts follow'() {
    const { sd, nginx, page, stop } = await setup();
    try {
      const id = await submit(sd, 'flaky');
      await waitStatus(sd, id, 'failed');

      await signIn(page, nginx.url, ADMIN);
      await page.waitForSelector('#board:not([hidden])');
      assert(await page.evaluate(() => sessionStorage.getItem('statusd.console.token')) === ADMIN,
             'the token is kept in sessionStorage');
      const row = `#failed tbody tr[data-job="${id}"]`;
      await page.waitForSelector(row);
      await waitTile(page, 'count-failed', '1');
      assert(await tile(page, 'count-completed') === '0', 'nothing completed yet');
      assert(await tile(page, 'instances') === '1', 'one instance alive');
      const error = await page.textContent(`${row} td.error-text`);
      assert(error.includes('handler_failed') && error.includes('the upstream API answered 502'),
             `the error shows: ${error}`);
      // the kind's row counts the failed job and the failed run
      const kind = await page.locator('#kinds tbody tr[data-kind="research"] td').allTextContents();
      assert(kind[3] === '1' && kind[5] === '1', `research row: ${kind.join(' | ')}`);

      // a reload keeps the operator signed in (sessionStorage)
      await page.reload();
      await page.waitForSelector(row);
      // docs/console.png is a copy of this screenshot
      await page.screenshot({ path: join(outDir(), 'console.png'), fullPage: true });

      await page.click(`${row} button[data-action="retry"]`);
      await waitTile(page, 'count-failed', '0');
      await page.waitForSelector(row, { state: 'detached' });
      assert(['queued', 'processing'].includes(await jobStatus(sd, id)), 'queued again');
      await page.waitForSelector(`#active tbody tr[data-job="${id}"]`);
      await page.screenshot({ path: join(outDir(), 'console-retried.png'), fullPage: true });
      // the second run completes, and the page follows by itself
      await waitTile(page, 'count-completed', '1');
      await page.waitForSelector(`#active tbody tr[data-job="${id}"]`, { state: 'detached' });
      assert(await jobStatus(sd, id) === 'completed', 'completed');
    } finally {
      await stop();
    }
  },

  async 'a job is found by its id and a running one is canceled'() {
    const { sd, nginx, page, stop } = await setup();
    try {
      const id = await submit(sd, 'hold');
      await waitStatus(sd, id, 'processing');
      await signIn(page, nginx.url, ADMIN);
      await waitTile(page, 'count-processing', '1');

      await page.fill('#job-id', id);
      await page.click('#search button[type=submit]');
      await page.waitForSelector('#found dd[data-field="status"]');
      assert(await page.textContent('#found dd[data-field="status"]') === 'processing',
             'the job found is processing');
      assert(await page.textContent('#found dd[data-field="kind"]') === 'research', 'its kind');
      await page.click('#found button[data-action="cancel"]');
      await page.waitForFunction(() =>
        document.querySelector('#found dd[data-field="status"]')?.textContent === 'canceled');
      await waitTile(page, 'count-canceled', '1');
      await waitTile(page, 'count-processing', '0');
      assert(await jobStatus(sd, id) === 'canceled', 'canceled in statusd');

      await page.fill('#job-id', '0f8fad5b-d9cb-469f-a165-70867728950e');
      await page.click('#search button[type=submit]');
      await page.waitForFunction(() => document.getElementById('found').textContent.startsWith('No job'));
      await page.fill('#job-id', 'not-an-id');
      await page.click('#search button[type=submit]');
      await page.waitForFunction(() => document.getElementById('found').textContent.includes('UUID'));
    } finally {
      await stop();
    }
  },

  async 'a refused token sends the operator back to the form'() {
    const { page, nginx, stop } = await setup();
    try {
      await signIn(page, nginx.url, 'not-the-token-at-all');
      await page.waitForFunction(() =>
        document.getElementById('login-error').textContent.includes('refused'));
      assert(await page.isHidden('#board'), 'the board stays hidden');
      assert(await page.evaluate(() => sessionStorage.getItem('statusd.console.token')) === null,
             'a refused token is not kept');
    } finally {
      await stop();
    }
  },
});
