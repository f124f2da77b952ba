// A browser page on the app's origin calls statusd on another origin:
// with the origin in cors_origins it submits a research job (preflighted:
// JSON body and an Idempotency-Key) and follows it to its result; from an
// origin not in the list the browser refuses to hand the answer over.

import { assert, DEADLINE_MS, outDir, run, servePage, startBrowser, startStatusd } from './harness.mjs';
import { join } from 'node:path';

const PAGE = `<!doctype html><meta charset="utf-8"><title>app</title>
<p id="state">idle</p>
<script>
async function follow(base) {
  const submit = await fetch(base + '/research', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'browser-cors-1' },
    body: JSON.stringify({ query: 'lion' }),
  });
  const job = await submit.json();
  const id = job.id;
  for (;;) {
    const view = await (await fetch(base + '/status/' + id)).json();
    document.getElementById('state').textContent = view.status + ' ' + view.progress;
    if (view.status === 'completed' || view.status === 'failed') return view;
    await new Promise((r) => setTimeout(r, 50));
  }
}
</script>`;

async function openPage(statusdArgs) {
  const origin = await servePage(PAGE);
  const sd = await startStatusd(statusdArgs(origin));
  const browser = await startBrowser();
  const page = await browser.newPage();
  page.setDefaultTimeout(DEADLINE_MS);
  await page.goto(origin + '/');
  return { sd, page };
}

await run({
  async 'an allowed origin submits a job and follows it to its result'() {
    const { sd, page } = await openPage((origin) => [
      '--set', `cors_origins=${origin}`, '--set', 'ratelimit_submit=0',
    ]);
    const view = await page.evaluate((base) => follow(base), sd.url);
    assert(view.status === 'completed', `status ${view.status}`);
    assert(view.progress === 100, `progress ${view.progress}`);
    assert(view.result !== null && typeof view.result === 'object', 'a result object');
    await page.screenshot({ path: join(outDir(), 'cors-completed.png') });
  },

  async 'an origin not in cors_origins cannot read the answer'() {
    const { sd, page } = await openPage(() => [
      '--set', 'cors_origins=http://app.example.com', '--set', 'ratelimit_submit=0',
    ]);
    const outcome = await page.evaluate(
      (base) => follow(base).then(() => 'read', (err) => err.name),
      sd.url,
    );
    assert(outcome === 'TypeError', `the browser refused with a TypeError, got ${outcome}`);
  },
});
