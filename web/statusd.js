// statusd.js: follow statusd jobs from a browser. An ES module without
// dependencies, served by statusd at /statusd.js.
//
//   import { submit, watch } from '/statusd.js';
//   const job = await submit('research', { query: 'lion' });
//   const w = watch(job.id, (view) => console.log(view.status, view.progress));
//   // w.stop() stops following; w.done resolves with the last view.
//
// watch() follows a job with server-sent events (GET /status/<id>/events)
// and falls back to long-polls (GET /status/<id> with Prefer: wait and
// If-None-Match) where EventSource is missing or its stream fails
// (watchUpload does the same with GET /upload-status); after
// a network error it reconnects with a growing, jittered backoff. It ends
// after the job's terminal state, or when the job is gone (onError with
// a StatusdError of status 404).

const TERMINAL = new Set(['completed', 'failed', 'canceled']);
const WAIT_S = 25;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;

const settings = { baseUrl: '', apiToken: null };

// Where statusd is ('' = this page's origin) and the api_token, if one is
// set, for submit().
export function configure({ baseUrl = '', apiToken = null } = {}) {
  settings.baseUrl = baseUrl.replace(/\/+$/, '');
  settings.apiToken = apiToken;
}

// An answer statusd refused: status, and the problem+json body (type,
// title, detail) when there is one.
export class StatusdError extends Error {
  constructor(status, problem) {
    super(problem && problem.detail ? problem.detail : `HTTP ${status}`);
    this.name = 'StatusdError';
    this.status = status;
    this.problem = problem || null;
  }
}

async function refused(resp) {
  let problem = null;
  try {
    problem = await resp.json();
  } catch {
    problem = null;
  }
  return new StatusdError(resp.status, problem);
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

function backoff(attempt) {
  const ms = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
  return ms / 2 + Math.random() * (ms / 2);
}

// Starts a job: kind 'research' (input {query, params}) or any kind with a
// handler (POST /jobs/<kind>). Resolves with the job's view (its id among
// it); rejects with a StatusdError.
export async function submit(kind, input, { idempotencyKey } = {}) {
  const path = kind === 'research' ? '/research' : `/jobs/${encodeURIComponent(kind)}`;
  const headers = { 'Content-Type': 'application/json' };
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  if (settings.apiToken) headers.Authorization = `Bearer ${settings.apiToken}`;
  const resp = await fetch(settings.baseUrl + path, {
    method: 'POST', headers, body: JSON.stringify(input),
  });
  if (resp.status !== 200 && resp.status !== 202) throw await refused(resp);
  return resp.json();
}

// Follows url (a view that answers ETag and long-polls) until isDone(view).
async function longPoll(url, onUpdate, isDone, state) {
  let etag = null;
  let attempt = 0;
  while (!state.stopped) {
    const headers = { Prefer: `wait=${WAIT_S}` };
    if (etag) headers['If-None-Match'] = etag;
    let resp;
    try {
      resp = await fetch(url, { headers, cache: 'no-store', signal: state.abort.signal });
    } catch (err) {
      if (state.stopped) return;
      await sleep(backoff(attempt++), state.abort.signal);
      continue;
    }
    // A server that did not hold the request (no Preference-Applied) is
    // polled at the pace it asks for, not in a tight loop.
    const held = resp.headers.get('Preference-Applied') !== null;
    const pace = () => sleep((Number(resp.headers.get('Retry-After')) || 1) * 1000,
                             state.abort.signal);
    if (resp.status === 304) {
      attempt = 0;
      if (!held) await pace();
      continue;
    }
    if (resp.status === 200) {
      attempt = 0;
      etag = resp.headers.get('ETag');
      const view = await resp.json();
      state.last = view;
      onUpdate(view);
      if (isDone(view)) return;
      if (!held && etag === null) await pace();
      continue;
    }
    if (resp.status === 404) throw await refused(resp);
    // 429, 503 (draining, too many waiters, store down): wait and retry
    const after = Number(resp.headers.get('Retry-After'));
    await sleep(after > 0 ? after * 1000 : backoff(attempt++), state.abort.signal);
  }
}

// Follows url with EventSource. Resolves true at the end of the job,
// false when the stream cannot be used (the caller falls back).
function events(url, onUpdate, isDone, state) {
  return new Promise((resolve) => {
    let source;
    try {
      source = new EventSource(url);
    } catch {
      resolve(false);
      return;
    }
    let seen = false;
    let errors = 0;
    const finish = (ok) => {
      source.close();
      state.abort.signal.removeEventListener('abort', stop);
      resolve(ok);
    };
    const stop = () => finish(true);
    state.abort.signal.addEventListener('abort', stop, { once: true });
    source.addEventListener('status', (ev) => {
      seen = true;
      errors = 0;
      const view = JSON.parse(ev.data);
      state.last = view;
      onUpdate(view);
      if (isDone(view)) finish(true);
    });
    source.onerror = () => {
      // A stream refused (404, 503) is closed by the browser; one that
      // never delivered, or keeps failing, is given up for long-polls.
      // Otherwise EventSource reconnects by itself with Last-Event-ID.
      errors++;
      if (source.readyState === EventSource.CLOSED || !seen || errors > 3) finish(false);
    };
  });
}

// Follows the view at path (its stream at eventsPath) until isDone(view).
function follow(path, eventsPath, onUpdate, isDone, { onError } = {}) {
  const state = { stopped: false, abort: new AbortController(), last: null };
  const url = settings.baseUrl + path;
  const run = async () => {
    if (typeof EventSource !== 'undefined') {
      if (await events(settings.baseUrl + eventsPath, onUpdate, isDone, state)) return state.last;
      if (state.stopped) return state.last;
    }
    await longPoll(url, onUpdate, isDone, state);
    return state.last;
  };
  const done = run().catch((err) => {
    if (onError) onError(err);
    return state.last;
  });
  return {
    done,
    stop() {
      state.stopped = true;
      state.abort.abort();
    },
  };
}

// Follows job id: onUpdate(view) with the current view and every change,
// until a terminal state. Returns {stop(), done} (done: a promise of the
// last view). onError(err) on the end of a job that is gone (404).
export function watch(id, onUpdate, options = {}) {
  const path = `/status/${encodeURIComponent(id)}`;
  return follow(path, `${path}/events`, onUpdate, (view) => TERMINAL.has(view.status), options);
}

// Follows an upload run (GET /upload-status) the same way until it is
// completed or failed: onUpdate(view) on every change.
export function watchUpload(postId, runId, onUpdate, options = {}) {
  const q = `post_id=${encodeURIComponent(postId)}&run_id=${encodeURIComponent(runId)}`;
  return follow(`/upload-status?${q}`, `/upload-status/events?${q}`, onUpdate,
                (view) => view.status !== 'processing', options);
}
