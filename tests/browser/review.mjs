// The review page in a real browser: Debian's Chromium, driven by playwright-core (no browser
// download). It starts `verity serve` on a loopback port with a queue policy, submits two
// signed clips as jobs, and then, as three reviewers in three browser contexts:
//
//   - signs in and works the whole flow with the keyboard alone (the queue counts, "Start
//     reviewing", the item page with its video loading, a decision with a note);
//   - checks that a second reviewer gets the other item and a third gets none while both are
//     claimed, and that the third gets an item once its claim's lease has run out;
//   - posts a form without its CSRF token and sees it refused;
//   - sees the decision in the audit log, and a manifest title holding a script shown as text
//     (no dialog ever opens);
//   - checks that every control on each page has a label.
//
// Usage: node tests/browser/review.mjs path/to/verity [--screenshot FILE]
// Everything is on loopback in a temporary folder; the server is stopped on every way out, and
// the whole run gives up after a fixed deadline.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const DEADLINE_MS = 240_000;
const LEASE_S = 15;
const PASSWORD = 'correct horse battery';
const HOSTILE = '<script>alert("title")</script>';

const args = process.argv.slice(2);
if (args.length < 1) {
  console.error('usage: node tests/browser/review.mjs path/to/verity [--screenshot FILE]');
  process.exit(2);
}
const verity = resolve(args[0]);
const shotAt = args.indexOf('--screenshot');
const screenshot = resolve(shotAt >= 0 ? args[shotAt + 1] : 'target/browser/review-item.png');

const tmp = mkdtempSync(join(tmpdir(), 'verity-browser-'));
const env = { ...process.env, VERITY_HOME: join(tmp, 'home') };
delete env.VERITY_CONFIG;
let server = null;
let browser = null;

function cleanup() {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
}

function fail(msg) {
  console.error(`browser test: FAIL: ${msg}`);
  cleanup();
  process.exit(1);
}

const deadline = setTimeout(() => fail(`ran past ${DEADLINE_MS / 1000} s`), DEADLINE_MS);

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function run(cmd, cmdArgs, input) {
  return execFileSync(cmd, cmdArgs, { env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

async function startServer() {
  const config = join(tmp, 'serve.toml');
  writeFileSync(
    config,
    [
      '[jobs]',
      'poll_interval = 0.1',
      '[review]',
      `claim_lease = ${LEASE_S}`,
      '[[review.queues]]',
      'name = "signed"',
      'title = "Signed clips"',
      'verdicts = ["signed-other-origin"]',
      '',
    ].join('\n'),
  );
  server = spawn(verity, ['serve', '--listen', '127.0.0.1:0', '--config', config], {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const lines = createInterface({ input: server.stdout });
  for await (const line of lines) {
    const m = line.match(/^verity serve: listening on (http:\/\/\S+)$/);
    if (m) return m[1];
  }
  throw new Error('the server stopped before it listened');
}

async function submitJobs(base, token, file, names) {
  const bytes = (await import('node:fs')).readFileSync(file);
  const ids = [];
  for (const name of names) {
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'video/mp4' }), name);
    const r = await fetch(`${base}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    check(r.status === 202, `POST /v1/jobs answered ${r.status}`);
    ids.push((await r.json()).id);
  }
  for (const id of ids) {
    for (let i = 0; ; i++) {
      check(i < 600, `job ${id} did not finish`);
      const j = await (await fetch(`${base}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${token}` } })).json();
      if (j.status === 'succeeded') break;
      check(j.status !== 'failed' && j.status !== 'cancelled', `job ${id} ended ${j.status}: ${j.error}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/// Every visible control has an accessible name (a label, aria-label or its own text).
async function everyControlLabelled(page, where) {
  const unlabelled = await page.evaluate(() => {
    const name = (el) => {
      if (el.getAttribute('aria-label')) return el.getAttribute('aria-label');
      if (el.id) {
        const l = document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
        if (l && l.textContent.trim()) return l.textContent.trim();
      }
      const wrap = el.closest('label');
      if (wrap && wrap.textContent.trim()) return wrap.textContent.trim();
      if (['BUTTON', 'A', 'SUMMARY'].includes(el.tagName)) return el.textContent.trim();
      return '';
    };
    return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a, video')]
      .filter((el) => !name(el))
      .map((el) => el.outerHTML.slice(0, 120));
  });
  check(unlabelled.length === 0, `${where}: controls without a label: ${unlabelled.join(' | ')}`);
}

/// Presses Tab until the focused element matches `selector` (at most 60 presses).
async function tabTo(page, selector) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return;
  }
  throw new Error(`could not reach ${selector} with the Tab key`);
}

async function newReviewer(base, name) {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  page.on('dialog', (d) => fail(`a dialog opened (${d.type()}: ${d.message()}): a script ran`));
  await page.goto('/review');
  check(page.url().endsWith('/review/login'), `not sent to sign in: ${page.url()}`);
  await everyControlLabelled(page, 'the sign-in page');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/review$/);
  return page;
}

async function startReviewing(page) {
  await page.goto('/review');
  await page.getByRole('button', { name: 'Start reviewing Signed clips' }).click();
  await page.waitForURL((u) => /\/review(\/items\/|\?empty=)/.test(u.href));
  return page.url();
}

async function main() {
  // A signed clip whose manifest title holds a script.
  const clip = join(tmp, 'clip.mp4');
  run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=24:d=2', '-pix_fmt', 'yuv420p', '-c:v', 'libx264', clip]);
  run(verity, ['keys', 'init', '--org', 'Browser Test']);
  const signed = join(tmp, 'signed.mp4');
  run(verity, ['sign', clip, '-o', signed, '--title', HOSTILE]);
  const token = JSON.parse(run(verity, ['serve', 'keys', 'create', '--name', 'jobs', '--scope', 'jobs', '--json'])).token;
  for (const [name, role] of [['ann', 'reviewer'], ['bob', 'reviewer'], ['lea', 'lead']]) {
    run(verity, ['serve', 'reviewers', 'add', name, '--role', role, '--password-stdin'], `${PASSWORD}\n`);
  }
  const base = await startServer();
  await submitJobs(base, token, signed, ['first.mp4', 'second.mp4']);

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync'],
  });

  // Ann, with the keyboard alone: sign in, see the counts, claim, watch, decide.
  const annContext = await browser.newContext({ baseURL: base });
  const ann = await annContext.newPage();
  ann.on('dialog', (d) => fail(`a dialog opened (${d.type()}: ${d.message()}): a script ran`));
  await ann.goto('/review/login');
  await tabTo(ann, '#name');
  await ann.keyboard.type('ann');
  await tabTo(ann, '#password');
  await ann.keyboard.type(PASSWORD);
  await ann.keyboard.press('Enter');
  await ann.waitForURL(/\/review$/);
  await everyControlLabelled(ann, 'the queues page');
  const count = await ann.locator('tr[data-queue="signed"] td.count').textContent();
  check(count.trim() === '2', `the queue shows ${count} items, not 2`);
  await tabTo(ann, 'button[aria-label="Start reviewing Signed clips"]');
  await ann.keyboard.press('Enter');
  await ann.waitForURL(/\/review\/items\//);
  const annItem = ann.url();
  await everyControlLabelled(ann, 'the item page');
  // The video loads (metadata at least), blurred until the reviewer reveals it.
  const ready = await ann.locator('video').evaluate(
    (v) => new Promise((ok) => {
      if (v.readyState >= 1) return ok(v.readyState);
      v.addEventListener('loadedmetadata', () => ok(v.readyState));
      v.addEventListener('error', () => ok(-1));
    }),
  );
  check(ready >= 1, `the video did not load (readyState ${ready})`);
  const blurred = await ann.locator('video').evaluate((v) => getComputedStyle(v).filter);
  check(blurred.includes('blur'), `the video is not blurred before it is revealed (${blurred})`);
  await tabTo(ann, '#reveal');
  await ann.keyboard.press('Space');
  const revealed = await ann.locator('video').evaluate((v) => getComputedStyle(v).filter);
  check(revealed === 'none', `the video is still blurred after it was revealed (${revealed})`);
  // The manifest's title is text on the page, not markup.
  const title = await ann.locator('#h-c2pa + dl').textContent();
  check(title.includes(HOSTILE), 'the hostile title is not shown as text');
  await ann.screenshot({ path: screenshot, fullPage: true });

  // Bob gets the other item; Lea, a third reviewer, gets none while both are claimed.
  const bob = await newReviewer(base, 'bob');
  const bobItem = await startReviewing(bob);
  const bobClaimedAt = Date.now();
  check(/\/review\/items\//.test(bobItem) && bobItem !== annItem, `bob got ${bobItem}, ann has ${annItem}`);
  const lea = await newReviewer(base, 'lea');
  const none = await startReviewing(lea);
  check(none.endsWith('/review?empty=signed'), `lea got ${none} while both items were claimed`);
  check((await lea.getByRole('status').textContent()).includes('Nothing left to claim'), 'no "nothing left" message');

  // A form without its CSRF token is refused, even with the session cookie.
  const forged = await lea.request.post('/review/queues/signed/start', { form: { csrf: '' }, maxRedirects: 0 });
  check(forged.status() === 403, `a form without its token was answered ${forged.status()}`);

  // Ann decides with the keyboard: an action, a note, "Decide".
  await tabTo(ann, 'input[name="action"][value="approve"]');
  await ann.keyboard.press('Space');
  await tabTo(ann, '#note');
  await ann.keyboard.type('Signed by our own key; nothing to do.');
  await tabTo(ann, 'button[name="next"][value="0"]');
  await ann.keyboard.press('Enter');
  await ann.waitForURL(/\/review\?done=1$/);
  check((await ann.getByRole('status').textContent()).includes('Decision recorded'), 'no confirmation');
  await ann.goto('/review/audit');
  const audit = await ann.locator('table.audit').textContent();
  check(audit.includes('review.decided') && audit.includes('Signed by our own key; nothing to do.'),
    'the decision is not in the audit log');
  await everyControlLabelled(ann, 'the audit page');

  // Bob's claim runs out (its lease is a few seconds here): Lea can take his item then, and
  // not before. Polled, with a bound, not slept on.
  const start = Date.now();
  let got = null;
  while (Date.now() - start < (LEASE_S + 20) * 1000) {
    const url = await startReviewing(lea);
    if (/\/review\/items\//.test(url)) { got = url; break; }
    await lea.waitForTimeout(250);
  }
  check(got === bobItem, `lea got ${got} after the lease, not bob's ${bobItem}`);
  const waited = (Date.now() - bobClaimedAt) / 1000;
  check(waited >= LEASE_S - 1, `lea got bob's item ${waited.toFixed(1)} s after his claim, before its ${LEASE_S}-s lease ran out`);

  await browser.close();
  browser = null;
  console.log(`browser test: passed (screenshot: ${screenshot})`);
}

mkdirSync(dirname(screenshot), { recursive: true });
main()
  .then(() => {
    clearTimeout(deadline);
    cleanup();
  })
  .catch(async (e) => {
    if (browser) await browser.close().catch(() => {});
    fail(e.stack || String(e));
  });
