// The statusd console: reads /stats and /jobs every 2 s and retries or
// cancels jobs. Every URL is relative to the page's folder, so the console
// works behind a proxy that serves statusd under a sub-path. The token lives
// in sessionStorage: this tab only, gone when it closes.
'use strict';

(function () {
  const REFRESH_MS = 2000;
  const LIST_LIMIT = 200;
  const TOKEN_KEY = 'statusd.console.token';
  const STATUSES = ['queued', 'processing', 'completed', 'failed', 'canceled'];
  const base = new URL('.', window.location.href);
  const $ = (id) => document.getElementById(id);
  let timer = null;

  function token() {
    return window.sessionStorage.getItem(TOKEN_KEY);
  }

  class HttpError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  async function api(method, path) {
    const headers = { Accept: 'application/json' };
    if (token()) headers.Authorization = 'Bearer ' + token();
    const res = await fetch(new URL(path, base), { method, headers, cache: 'no-store' });
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      const detail = body && (body.detail || body.title) ? body.detail || body.title : res.statusText;
      throw new HttpError(res.status, detail);
    }
    return body;
  }

  function text(el, value) {
    el.textContent = value === null || value === undefined ? '\u2013' : String(value);
  }

  function cell(row, value, cls) {
    const td = document.createElement('td');
    text(td, value);
    if (cls) td.className = cls;
    row.appendChild(td);
    return td;
  }

  function button(label, action, job) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.dataset.action = action;
    b.dataset.job = job.id;
    b.addEventListener('click', () => act(action, job.id, b));
    return b;
  }

  function shortId(id) {
    return id.length > 13 ? id.slice(0, 8) + '\u2026' : id;
  }

  function idCell(row, job) {
    const td = cell(row, shortId(job.id), 'mono');
    td.title = job.id;
    return td;
  }

  function errorText(job) {
    if (!job.error) return '';
    return job.error.code + (job.error.message ? ': ' + job.error.message : '');
  }

  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
  }

  function fillTable(id, jobs, addCells) {
    const body = $(id).querySelector('tbody');
    body.replaceChildren();
    for (const job of jobs) {
      const row = document.createElement('tr');
      row.dataset.job = job.id;
      addCells(row, job);
      body.appendChild(row);
    }
    $(id + '-empty').hidden = jobs.length > 0;
  }

  function renderStats(s) {
    for (const st of STATUSES) text($('count-' + st), s.jobs[st]);
    text($('queue-depth'), s.queue.depth);
    text($('queue-leased'), s.queue.leased);
    text($('queue-delayed'), s.queue.delayed);
    text($('instances'), s.instances);
    text($('workers'), s.workers.busy + ' / ' + s.workers.total);
    text($('sessions'), s.sessions);
    text($('conversations'), s.conversations);
  }

  function renderKinds(s, lists) {
    const kinds = new Map();
    const row = (k) => {
      if (!kinds.has(k)) kinds.set(k, { queued: 0, processing: 0, failed: 0, runs: null });
      return kinds.get(k);
    };
    for (const [k, runs] of Object.entries(s.outcomes || {})) row(k).runs = runs;
    for (const st of ['queued', 'processing', 'failed'])
      for (const job of lists[st]) row(job.kind)[st] += 1;
    const body = $('kinds').querySelector('tbody');
    body.replaceChildren();
    for (const [k, c] of [...kinds.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      const tr = document.createElement('tr');
      tr.dataset.kind = k;
      cell(tr, k);
      cell(tr, c.queued, 'num');
      cell(tr, c.processing, 'num');
      cell(tr, c.failed, 'num');
      for (const o of ['completed', 'failed', 'retried', 'lost']) cell(tr, c.runs ? c.runs[o] : null, 'num');
      body.appendChild(tr);
    }
  }

  function renderLists(lists) {
    fillTable('failed', lists.failed, (tr, job) => {
      idCell(tr, job);
      cell(tr, job.kind);
      cell(tr, errorText(job), 'error-text');
      cell(tr, job.attempts, 'num');
      cell(tr, when(job.updated_at));
      const td = cell(tr, '');
      td.textContent = '';
      td.append(button('Retry', 'retry', job));
    });
    const active = lists.queued.concat(lists.processing);
    fillTable('active', active, (tr, job) => {
      idCell(tr, job);
      cell(tr, job.kind);
      cell(tr, job.status);
      cell(tr, job.progress + '%', 'num');
      cell(tr, job.attempts, 'num');
      const td = cell(tr, '');
      td.textContent = '';
      td.append(button('Cancel', 'cancel', job));
    });
  }

  async function refresh() {
    window.clearTimeout(timer);
    try {
      const stats = await api('GET', 'stats');
      const lists = {};
      for (const st of ['failed', 'queued', 'processing'])
        lists[st] = (await api('GET', 'jobs?status=' + st + '&limit=' + LIST_LIMIT)).items;
      renderStats(stats);
      renderKinds(stats, lists);
      renderLists(lists);
      $('error').textContent = '';
      $('live').textContent = 'updated ' + new Date().toLocaleTimeString();
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) {
        signOut('That token was refused.');
        return;
      }
      $('error').textContent = 'Could not refresh: ' + err.message;
    }
    timer = window.setTimeout(refresh, REFRESH_MS);
  }

  async function act(action, id, btn) {
    if (btn) btn.disabled = true;
    try {
      if (action === 'retry') await api('POST', 'status/' + encodeURIComponent(id) + '/retry');
      else await api('POST', 'status/' + encodeURIComponent(id) + '/cancel');
      $('error').textContent = '';
    } catch (err) {
      if (err instanceof HttpError && err.status === 401) {
        signOut('That token was refused.');
        return;
      }
      $('error').textContent = (action === 'retry' ? 'Retry' : 'Cancel') + ' of ' + id +
        ' refused: ' + err.message;
    }
    await refresh();
    if ($('found').dataset.job === id) await find(id);
  }

  async function find(id) {
    const out = $('found');
    out.replaceChildren();
    out.dataset.job = id;
    if (!/^[0-9a-fA-F-]{36}$/.test(id)) {
      out.textContent = 'A job id is a UUID: 36 characters, hex digits and dashes.';
      return;
    }
    let job;
    try {
      job = await api('GET', 'status/' + encodeURIComponent(id));
    } catch (err) {
      out.textContent = err instanceof HttpError && err.status === 404
        ? 'No job ' + id + ' (never created, or expired).'
        : 'Could not read job ' + id + ': ' + err.message;
      return;
    }
    const dl = document.createElement('dl');
    dl.className = 'job';
    const rows = [
      ['id', job.id], ['kind', job.kind], ['status', job.status],
      ['progress', job.progress + '%'], ['stage', job.stage], ['attempts', job.attempts],
      ['error', errorText(job)], ['retry at', when(job.retry_at)],
      ['created', when(job.created_at)], ['updated', when(job.updated_at)],
      ['expires', when(job.expires_at)],
    ];
    for (const [k, v] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.dataset.field = k;
      text(dd, v === '' ? null : v);
      dl.append(dt, dd);
    }
    out.appendChild(dl);
    if (job.status === 'failed' || job.status === 'canceled') out.appendChild(button('Retry', 'retry', job));
    if (job.status === 'queued' || job.status === 'processing') out.appendChild(button('Cancel', 'cancel', job));
  }

  function signOut(message) {
    window.clearTimeout(timer);
    window.sessionStorage.removeItem(TOKEN_KEY);
    $('board').hidden = true;
    $('forget').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    $('live').textContent = '';
  }

  function open() {
    $('login').hidden = true;
    $('board').hidden = false;
    $('forget').hidden = false;
    refresh();
  }

  $('login').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token').value.trim();
    if (!t) return;
    window.sessionStorage.setItem(TOKEN_KEY, t);
    $('token').value = '';
    open();
  });
  $('forget').addEventListener('click', () => signOut(''));
  $('search').addEventListener('submit', (ev) => {
    ev.preventDefault();
    find($('job-id').value.trim());
  });

  if (token()) open();
  else signOut('');
})();
