// The demo page at / and web/statusd.js, served by a real statusd: a
// query starts a research job whose bar and stage move live to 100% and
// whose result shows, over server-sent events and, with the events path
// blocked, over long-polls; an upload run shows each field's state; and
// web_ui = off takes the page away but not the module.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert, DEADLINE_MS, outDir, run, servePage, sleep, startBrowser, startStatusd }
  from './harness.mjs';

// README.md's page example (the html block after "<!-- browser example -->").
function readmeExample() {
  const readme = readFileSync(join(process.env.SD_TEST_SOURCE_DIR, 'README.md'), 'utf8');
  const m = readme.match(/<!-- browser example -->\n```html\n([\s\S]*?)```/);
  if (!m) throw new Error('README.md has no browser example');
  return m[1];
}

// Stages of 400 ms: progress is written at most every progress_interval_ms
// (250), so each stage after the first is in the store for a whole step, long
// enough for a page on a loaded machine to see it between 0% and 100%.
async function openDemo(args = []) {
  const sd = await startStatusd(['--set', 'demo_step_ms=400', '--set', 'ratelimit_submit=0',
                                 ...args]);
  const browser = await startBrowser();
  const page = await browser.newPage();
  page.setDefaultTimeout(DEADLINE_MS);
  return { sd, page };
}

// Starts a job from the page and waits for its end; returns what the page
// showed: every progress value seen, the final texts.
async function researchFromPage(page, url, query) {
  await page.goto(url + '/');
  await page.evaluate(() => {
    window.seen = [];
    new MutationObserver(() => window.seen.push(document.getElementById('progress').textContent))
      .observe(document.getElementById('progress'), { childList: true, characterData: true, subtree: true });
  });
  await page.fill('#query', query);
  await page.click('#start');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'completed');
  await page.waitForSelector('#result:not([hidden])');
  return page.evaluate(() => ({
    seen: window.seen,
    bar: document.getElementById('bar').style.width,
    progress: document.getElementById('progress').textContent,
    stage: document.getElementById('stage').textContent,
    result: document.getElementById('result').textContent,
    problem: document.getElementById('problem').hidden,
  }));
}

function assertFinished(shown) {
  assert(shown.bar === '100%', `bar at ${shown.bar}`);
  assert(shown.progress === '100%', `progress text ${shown.progress}`);
  assert(shown.problem, 'no problem shown');
  const result = JSON.parse(shown.result);
  assert(result !== null && typeof result === 'object', `a result object: ${shown.result}`);
  const between = shown.seen.filter((p) => p !== '0%' && p !== '100%');
  assert(between.length > 0, `the bar moved through values between 0 and 100: ${shown.seen}`);
}

await run({
  async 'the demo page starts a job and its bar reaches 100% with the result'() {
    const { sd, page } = await openDemo();
    const streams = [];
    page.on('request', (req) => {
      if (req.url().endsWith('/events')) streams.push(req.url());
    });
    const shown = await researchFromPage(page, sd.url, 'lion');
    assertFinished(shown);
    assert(streams.length >= 1, 'followed over server-sent events');
    await sleep(400); // the bar's transition
    await page.screenshot({ path: join(outDir(), 'web-demo-completed.png'), fullPage: true });
  },

  async 'with the event stream blocked statusd.js falls back to long-polls'() {
    const { sd, page } = await openDemo();
    await page.route('**/events', (route) => route.abort());
    const polls = [];
    page.on('request', (req) => {
      const h = req.headers();
      if (/\/status\/[0-9a-f-]+$/.test(req.url()) && h.prefer === 'wait=25') polls.push(h);
    });
    const shown = await researchFromPage(page, sd.url, 'tiger');
    assertFinished(shown);
    assert(polls.length >= 2, `long-polls made: ${polls.length}`);
    assert(polls.some((h) => h['if-none-match']), 'later polls carry If-None-Match');
    await sleep(400);
    await page.screenshot({ path: join(outDir(), 'web-demo-long-poll.png'), fullPage: true });
  },

  async 'an upload run shows the state of each field'() {
    const { sd, page } = await openDemo();
    await page.goto(sd.url + '/');
    await page.click('summary >> text=Upload run');
    await page.click('#upload');
    await page.waitForFunction(() => document.getElementById('upload-status').textContent === 'run failed');
    const rows = await page.$$eval('#fields tr', (trs) => trs.map((tr) => tr.textContent));
    assert(rows.length === 3, `three fields: ${rows}`);
    assert(rows.filter((r) => r.includes('completed')).length === 2, `two completed: ${rows}`);
    assert(rows.some((r) => r.startsWith('broken') && r.includes('failed (demo_failure)')),
           `the broken field failed: ${rows}`);
    await page.screenshot({ path: join(outDir(), 'web-demo-upload.png'), fullPage: true });
  },

  async "README's page example follows a job from another origin to 100%"() {
    const example = readmeExample();
    assert(example.split('\n').filter((l) => l.trim()).length <= 10, 'ten lines at most');
    // The app's page on an origin of its own, served once statusd's
    // address, which the example names, is known.
    let html = '';
    const origin = await servePage(() => html);
    const sd = await startStatusd(['--set', `cors_origins=${origin}`, '--set', 'demo_step_ms=150',
                                   '--set', 'ratelimit_submit=0']);
    html = '<!doctype html><meta charset="utf-8">' +
      example.replaceAll('http://localhost:8080', sd.url);
    const browser = await startBrowser();
    const page = await browser.newPage();
    page.setDefaultTimeout(DEADLINE_MS);
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    const consoled = [];
    page.on('console', (msg) => consoled.push(msg.text()));
    await page.goto(origin + '/');
    await page.waitForFunction(() => document.getElementById('bar').value === 100)
      .catch((err) => { throw new Error(`${err.message}; page: ${errors} ${consoled}`); });
    const stage = await page.textContent('#stage');
    assert(stage.startsWith('completed'), `stage text ${stage}`);
    assert(errors.length === 0, `no page errors: ${errors}`);
    await page.screenshot({ path: join(outDir(), 'web-readme-example.png') });
  },

  async 'web_ui = off serves no page but still the module'() {
    const sd = await startStatusd(['--set', 'web_ui=off']);
    const pageResp = await fetch(sd.url + '/');
    assert(pageResp.status === 404, `/ answers ${pageResp.status}`);
    assert(pageResp.headers.get('content-type') === 'application/problem+json', 'a problem');
    const mod = await fetch(sd.url + '/statusd.js');
    assert(mod.status === 200, `/statusd.js answers ${mod.status}`);
    assert(mod.headers.get('content-type') === 'text/javascript; charset=utf-8', 'JavaScript');
    const text = await mod.text();
    for (const name of ['submit', 'watch', 'watchUpload']) {
      assert(text.includes(`export function ${name}(`) || text.includes(`export async function ${name}(`),
             `exports ${name}`);
    }
  },
});
