// Browser tests of the web editor: a real `plenary serve` (binary from
// PLENARY_BIN, web files from web/dist) and Debian's Chromium driven by
// playwright-core, with two delegations and a chair in separate browser
// contexts. Builds nothing. Exits non-zero on the first failure; screenshots
// go to tests/browser/artifacts/.
//
//   PLENARY_BIN=target/debug/plenary node tests/browser/run.mjs
//
// Environment: PLENARY_BIN (required), CHROMIUM (default /usr/bin/chromium),
// PLENARY_WEB_DIR (default web/dist of this repository), HEADED=1 to watch,
// PLENARY_BROWSER_SKIP_HISTORY=1 to skip the history checks (only while the
// server has no /api/docs/{doc}/timeline; the skip is printed loudly),
// PLENARY_BROWSER_ONLY=<prefix> to run only the sign-in check and the suites
// in suites/ whose file name starts with <prefix> (while working on one view).
//
// The checks below share one demo document; each file in suites/ exports
// `default async function (t)` and works on documents of its own (t.createDoc).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const artifacts = join(here, 'artifacts');
const BIN = process.env.PLENARY_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WEB_DIR = process.env.PLENARY_WEB_DIR || join(repo, 'web/dist');
const DOC = 'reducing-reoffending';

if (!BIN || !existsSync(BIN)) {
  console.error(`PLENARY_BIN must name the plenary binary (got ${JSON.stringify(BIN)})`);
  process.exit(2);
}
if (!existsSync(join(WEB_DIR, 'index.html'))) {
  console.error(`no web bundle at ${WEB_DIR}: run npm ci && npm run build in web/`);
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });

const dataDir = mkdtempSync(join(tmpdir(), 'plenary-browser-'));
let server;
let browser;
const pages = {};
let failed = false;

/** Starts `plenary serve` on `port` (0: a free one) over the suite's data directory. */
function startServer(port = 0) {
  return new Promise((ok, fail) => {
    // No leeway: a token expires at its `exp`, so the sessions check need not wait 30 s more.
    server = spawn(BIN, ['serve', '--dev', '--jwt-leeway-secs', '0', '--port', String(port), '--data-dir', dataDir, '--web-dir', WEB_DIR], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PLENARY_LOG: process.env.PLENARY_LOG || 'warn' },
    });
    let out = '';
    const timer = setTimeout(() => fail(new Error(`server did not print its address in 20 s:\n${out}`)), 20000);
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    server.stderr.on('data', (d) => process.stderr.write(`[server] ${d}`));
    server.on('exit', (code) => fail(new Error(`server exited (${code}) before listening:\n${out}`)));
  });
}

function token(role, name, extra = []) {
  return execFileSync(BIN, ['token', '--dev', '--data-dir', dataDir, '--role', role, '--name', name, ...extra], { encoding: 'utf8' }).trim();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws `what` after `ms`. */
async function until(what, fn, ms = 8000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out: ${what}${last instanceof Error ? ` (${last.message})` : ''}`);
}

// The editor's rows only (the history view, once opened, keeps rows with the same labels in the page).
const textOf = (page, label) => page.locator(`.paragraphs .row[data-label="${label}"] .ptext`).innerText();
const allTexts = (page) => page.$$eval('.paragraphs .row', (rows) => rows.map((r) => `${r.dataset.label}|${r.querySelector('.ptext').textContent}`));

async function typeAtEnd(page, label, text) {
  const el = page.locator(`.row[data-label="${label}"] .ptext`);
  await el.click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text, { delay: 15 });
}

async function shot(page, name) {
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  console.log(`  screenshot: ${path}`);
}

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed = true;
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.message}`);
    for (const [who, p] of Object.entries(pages)) {
      await p.screenshot({ path: join(artifacts, `failure-${who}.png`), fullPage: true }).catch(() => {});
    }
    console.log(`  failure screenshots in ${artifacts}`);
    throw e;
  }
}

/** Creates document `name` from the Rev.1 fixture over the API, as the chair; ignores 409 (exists). */
async function createDoc(base, chairToken, name) {
  const text = readFileSync(join(repo, 'tests/fixtures/reducing-reoffending-2021-rev1.txt'), 'utf8');
  const r = await fetch(`${base}/api/docs`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${chairToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name, text }),
  });
  if (r.status !== 201 && r.status !== 409) throw new Error(`creating ${name}: HTTP ${r.status} ${await r.text()}`);
}

/** Stops the server (SIGTERM) and waits for it to exit: pages see a dropped connection. */
async function stopServer() {
  const s = server;
  // The listener that fails a starting server goes first (removing it after adding this one
  // removed both, and every stop waited its full 10 s).
  s.removeAllListeners('exit');
  const exited = new Promise((r) => s.once('exit', r));
  s.kill('SIGTERM');
  await Promise.race([exited, sleep(10000)]);
}

/** Starts the server again on the same port and data directory. */
async function restartServer(base) {
  const port = Number(new URL(base).port);
  await startServer(port);
}

async function runSuites(t) {
  const dir = join(here, 'suites');
  if (!existsSync(dir)) return;
  const only = process.env.PLENARY_BROWSER_ONLY; // a suite's file name, to run just that one
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.mjs')).sort()) {
    if (only && !f.startsWith(only)) continue;
    const suite = await import(join(dir, f));
    await suite.default(t);
  }
}

async function main() {
  const base = await startServer();
  console.log(`server: ${base}`);
  const tokens = {
    jpn: token('delegate', 'Delegate of Japan', ['--delegation', 'JPN']),
    fra: token('delegate', 'Delegate of France', ['--delegation', 'FRA', '--groups', 'EU']),
    chair: token('chair', 'Chair (Ms. Ortiz)'),
  };
  // playwright gives every launch a fresh temporary profile (it refuses --user-data-dir).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: !process.env.HEADED,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ].filter((a) => !(process.env.HEADED && a === '--headless')),
  });
  const open = async (who, url) => {
    const ctx = await browser.newContext({ viewport: { width: 1500, height: 950 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => console.log(`  [${who} page error] ${e.message}`));
    page.on('dialog', (d) => d.accept());
    pages[who] = page;
    await page.goto(url);
    return page;
  };

  await check('sign-in: a token in the link opens the draft; the sign-in form accepts a pasted token', async () => {
    const jpn = await open('jpn', `${base}/?doc=${DOC}&token=${tokens.jpn}`);
    const chair = await open('chair', `${base}/?doc=${DOC}&token=${tokens.chair}`);
    const fra = await open('fra', `${base}/?doc=${DOC}`);
    await fra.locator('#token-input').fill(tokens.fra);
    await fra.locator('#signin-btn').click();
    for (const p of [jpn, fra, chair]) {
      await p.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
      await until('paragraphs rendered', async () => (await p.locator('.paragraphs .row').count()) > 10);
    }
    if (jpn.url().includes('token=')) throw new Error('the token stayed in the address bar');
    const title = await jpn.locator('.un-res-title').innerText();
    if (!/reoffending/i.test(title)) throw new Error(`unexpected title ${title}`);
    const op1 = await jpn.locator('.row[data-label="OP1"] .num').innerText();
    if (op1.trim() !== '1.') throw new Error(`OP1 numbered ${op1}`);
    if ((await jpn.locator('.row[data-label="PP1"] .ptext em').count()) === 0) throw new Error('PP1 has no italic opening');
  });
  const { jpn, fra, chair } = pages;
  // The suites in suites/*.mjs (each one view or flow, on documents of its own) run first, in
  // name order: they get these helpers and must leave the shared server running.
  await runSuites({ base, tokens, token, open, check, until, sleep, shot, textOf, allTexts, typeAtEnd, createDoc: (name) => createDoc(base, tokens.chair, name), stopServer, restartServer: () => restartServer(base), browser, repo, artifacts, DOC });
  if (process.env.PLENARY_BROWSER_ONLY) return;

  await check('presence: each page shows the others with their delegation', async () => {
    for (const p of [jpn, fra, chair]) {
      await until('three participants', async () => (await p.locator('.presence .peer').count()) >= 3);
    }
    await jpn.locator('.row[data-label="OP2"] .ptext').click();
    await until('JPN shown in OP2 on the FRA page', async () => (await fra.locator('.row[data-label="OP2"] .peer-chip', { hasText: 'JPN' }).count()) === 1);
  });

  await check('typing: two delegations in different paragraphs, then in the same one, converge', async () => {
    await Promise.all([typeAtEnd(jpn, 'PP2', ' [JPN edit]'), typeAtEnd(fra, 'OP1', ' [FRA edit]')]);
    await until('PP2 and OP1 carry both edits on all pages', async () => {
      for (const p of [jpn, fra, chair]) {
        if (!(await textOf(p, 'PP2')).includes('[JPN edit]')) return false;
        if (!(await textOf(p, 'OP1')).includes('[FRA edit]')) return false;
      }
      return true;
    });
    // Both in OP3 at once: one at the start, one at the end.
    const startOf = async (page) => {
      await page.locator('.row[data-label="OP3"] .ptext').click();
      await page.keyboard.press('Control+Home');
    };
    await Promise.all([
      (async () => { await startOf(jpn); await jpn.keyboard.type('Alpha ', { delay: 20 }); })(),
      typeAtEnd(fra, 'OP3', ' Omega'),
    ]);
    await until('identical text on all pages', async () => {
      const [a, b, c] = await Promise.all([allTexts(jpn), allTexts(fra), allTexts(chair)]);
      return JSON.stringify(a) === JSON.stringify(b) && JSON.stringify(b) === JSON.stringify(c);
    });
    const op3 = await textOf(fra, 'OP3');
    if (!op3.startsWith('Alpha ') || !op3.endsWith(' Omega')) throw new Error(`OP3 lost an edit: ${op3}`);
  });

  await check('a delegate may not edit an agreed paragraph: the page locks it and says why', async () => {
    await chair.locator('.row[data-label="OP4"] select.status-select').selectOption('agreed');
    await until('OP4 agreed on JPN page', async () => (await jpn.locator('.row[data-label="OP4"].status-agreed.locked').count()) === 1);
    const before = await textOf(chair, 'OP4');
    await jpn.locator('.row[data-label="OP4"] .ptext').click();
    await jpn.keyboard.type('XYZ');
    await until('the refusal is shown', async () => /agreed and locked/.test(await jpn.locator('.notice').innerText()) && (await jpn.locator('.notice').isVisible()));
    await shot(jpn, 'refused-agreed-paragraph');
    await sleep(300);
    for (const p of [jpn, fra, chair]) {
      const t = await textOf(p, 'OP4');
      if (t !== before) throw new Error(`the locked paragraph changed: ${t}`);
    }
  });

  await check('a refused change derails no one: typed into an agreed paragraph, then straight on into an open one', async () => {
    // How a delegate gets to type into an agreed paragraph: the page locks it
    // (previous check), so the test switches the page's own lock off with its
    // test hook `__plenary.setIgnoreLocalLocks(true)`: the page then behaves as
    // one that has not yet heard that the chair agreed OP4. Everything after
    // that is the real path: keystrokes through the page's binding into the
    // Y.Text, the stock y-websocket provider, the server's permission-denied
    // and its reverting update, and the page's handling of both. (Racing the
    // chair's status change against typing tests the same path, but leaves
    // zero or one refused keystroke depending on timing.)
    const agreed = await textOf(chair, 'OP4');
    const openBefore = await textOf(chair, 'OP2');
    const refusedWords = 'and also strengthens probation services';
    const openWords = ' [JPN typed this straight after]';
    await jpn.evaluate(() => window.__plenary.setIgnoreLocalLocks(true));
    await typeAtEnd(jpn, 'OP4', ` ${refusedWords}`);
    await typeAtEnd(jpn, 'OP2', openWords); // no pause in between
    await jpn.evaluate(() => window.__plenary.setIgnoreLocalLocks(false));

    // Nothing typed in the open paragraph is lost: it reaches the others complete.
    await until('the words JPN typed in OP2 reach the FRA and chair pages complete', async () => {
      for (const p of [fra, chair]) if ((await textOf(p, 'OP2')) !== openBefore + openWords) return false;
      return true;
    }, 10000);
    if ((await textOf(jpn, 'OP2')) !== openBefore + openWords) throw new Error(`JPN's own OP2 lost words: ${await textOf(jpn, 'OP2')}`);

    // The agreed paragraph is unchanged everywhere, the delegate's page included (the server reverted it; no reload).
    await until('OP4 back to its agreed text on every page', async () => {
      for (const p of [jpn, fra, chair]) if ((await textOf(p, 'OP4')) !== agreed) return false;
      return true;
    }, 10000);

    // The refusal is shown at the agreed paragraph, in plain words, once.
    const msg = jpn.locator('.row[data-label="OP4"] .refusal-message');
    await until('the refusal is shown at OP4', async () => (await msg.count()) === 1 && (await msg.isVisible()));
    const said = await msg.innerText();
    if (!/OP4/.test(said) || !/agreed and locked/.test(said)) throw new Error(`the refusal at OP4 reads: ${said}`);
    if (/\[[a-z]+\.[a-z.-]+\]/.test(said)) throw new Error(`the refusal shows a raw rule id: ${said}`);
    const described = await jpn.locator('.row[data-label="OP4"] .ptext').getAttribute('aria-describedby');
    if (!described || (await jpn.locator(`#${described}`).count()) !== 1) throw new Error('OP4 text is not described by its refusal');
    if ((await jpn.locator('.refusal').count()) !== 1) throw new Error(`${await jpn.locator('.refusal').count()} refusal boxes on the page (one expected)`);

    // The refused words are kept aside, accumulated into one box, seen by no one else.
    const box = jpn.locator('.row[data-label="OP4"] .refused-words');
    await until('the refused words are shown aside at OP4', async () => (await box.count()) === 1 && (await box.locator('.refused-words-text').innerText()).trim() === refusedWords, 10000);
    await shot(jpn, 'refused-words-aside');
    for (const [who, p] of [['FRA', fra], ['chair', chair]]) {
      if ((await p.locator('.paragraphs').innerText()).includes(refusedWords)) throw new Error(`${who}'s page shows the refused words`);
    }

    // … and can be turned into a proposal, which the chair then sees.
    await box.locator('.propose-refused').click();
    const form = jpn.locator('.row[data-label="OP4"] .propose-form');
    const proposed = await form.locator('textarea').inputValue();
    if (proposed !== `${agreed} ${refusedWords}`) throw new Error(`the proposal form holds ${JSON.stringify(proposed)}`);
    await form.locator('.submit-proposal').click();
    const prop = chair.locator('.row[data-label="OP4"] .proposal[data-delegation="JPN"]');
    await until('the chair sees the proposal with the refused words', async () => (await prop.count()) === 1 && (await prop.innerText()).includes(refusedWords));
    await until('the box is gone once proposed', async () => (await jpn.locator('.row[data-label="OP4"] .refusal').count()) === 0);
    await until('identical text on all pages', async () => {
      const [a, b, c] = await Promise.all([allTexts(jpn), allTexts(fra), allTexts(chair)]);
      return JSON.stringify(a) === JSON.stringify(b) && JSON.stringify(b) === JSON.stringify(c);
    });
  });

  await check("undo and redo: a delegate's Ctrl+Z takes out their own words on every page, Ctrl+Shift+Z and Ctrl+Y bring them back; another delegation's concurrent words stay", async () => {
    const mine = ' [JPN words to undo]';
    const theirs = 'FRA-concurrently ';
    await jpn.locator('.row[data-label="PP2"] .ptext').click();
    await sleep(600); // a new undo step (typing within 500 ms joins the last one)
    await Promise.all([
      typeAtEnd(jpn, 'PP2', mine),
      (async () => {
        await fra.locator('.row[data-label="PP2"] .ptext').click();
        await fra.keyboard.press('Control+Home');
        await fra.keyboard.type(theirs, { delay: 15 });
      })(),
    ]);
    const both = async (want) => {
      for (const p of [jpn, fra, chair]) {
        const t = await textOf(p, 'PP2');
        if (!t.startsWith(theirs) || t.includes(mine) !== want) return false;
      }
      return true;
    };
    await until('both edits on every page', () => both(true));
    await jpn.keyboard.press('Control+z');
    await until("JPN's words gone on every page, FRA's kept", () => both(false));
    await jpn.keyboard.press('Control+Shift+z');
    await until("JPN's words back on every page", () => both(true));
    await jpn.keyboard.press('Control+z');
    await until('undone again', () => both(false));
    await jpn.keyboard.press('Control+y');
    await until('Ctrl+Y redoes', () => both(true));
  });

  await check('Esc closes the propose and comment forms; what was typed is there when the form is opened again', async () => {
    const row = jpn.locator('.row[data-label="OP5"]');
    await row.locator('.propose-btn').click();
    await row.locator('textarea.propose-text').fill('a draft proposal');
    await jpn.keyboard.press('Escape');
    await until('the propose form closed', async () => (await row.locator('form.propose-form').count()) === 0);
    await row.locator('.propose-btn').click();
    const kept = await row.locator('textarea.propose-text').inputValue();
    if (kept !== 'a draft proposal') throw new Error(`the propose form lost its text: ${kept}`);
    await row.locator('form.propose-form .cancel-form').click();
    await row.locator('.comment-btn').click();
    await jpn.locator('form.comment-form textarea.comment-text').fill('half a comment');
    await jpn.keyboard.press('Escape');
    await until('the comment form closed', async () => (await jpn.locator('form.comment-form').count()) === 0);
    await row.locator('.comment-btn').click();
    const again = await jpn.locator('form.comment-form textarea.comment-text').inputValue();
    if (again !== 'half a comment') throw new Error(`the comment form lost its text: ${again}`);
    await jpn.locator('form.comment-form .cancel-form').click();
  });

  await check('a network drop: the page stops saying live within 2 s (browser offline) or 5 s (a silent connection), and is live again once the network is back', async () => {
    // A page of its own, its sockets through a relay that can fall silent: a
    // drop the browser does not notice (no offline event, no TCP close).
    const ctx = await browser.newContext({ viewport: { width: 1500, height: 950 } });
    let silent = false;
    await ctx.routeWebSocket(/\/sync\//, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => { if (!silent) server.send(m); });
      server.onMessage((m) => { if (!silent) ws.send(m); });
    });
    const net = await ctx.newPage();
    net.on('pageerror', (e) => console.log(`  [net page error] ${e.message}`));
    pages.net = net;
    await net.goto(`${base}/?doc=${DOC}&token=${tokens.fra}`);
    await net.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
    const conn = net.locator('.topbar .conn');
    await until('live', async () => (await conn.innerText()).includes('live'));
    await ctx.setOffline(true);
    let t0 = Date.now();
    await until('no longer says live once offline', async () => !(await conn.innerText()).includes('live'), 2000);
    console.log(`  offline: left "live" after ${Date.now() - t0} ms: ${await conn.innerText()}`);
    await ctx.setOffline(false);
    await until('live again', async () => (await conn.innerText()).includes('live'), 15000);
    silent = true;
    t0 = Date.now();
    await until('no longer says live on a silent connection', async () => !(await conn.innerText()).includes('live'), 5000);
    console.log(`  silent: left "live" after ${Date.now() - t0} ms: ${await conn.innerText()}`);
    silent = false;
    await until('live again', async () => (await conn.innerText()).includes('live'), 15000);
    delete pages.net;
    await ctx.close();
  });

  await check("comments: delegation JPN's private comment never reaches FRA; public ones do; reply and resolve", async () => {
    const post = async (page, label, scope, text) => {
      await page.locator(`.row[data-label="${label}"] .comment-btn`).click();
      const form = page.locator(`.row[data-label="${label}"] .comment-form`);
      await form.locator('select.comment-scope').selectOption(scope);
      await form.locator('textarea').fill(text);
      await form.locator('.post-comment').click();
    };
    await post(jpn, 'PP3', 'delegation/JPN', 'JPN private: we can live with this');
    await post(jpn, 'PP3', 'public', 'JPN public: suggest shortening');
    await post(fra, 'PP3', 'group/EU', 'EU coordination: hold until Thursday');
    await until('JPN sees its two comments', async () => (await jpn.locator('.row[data-label="PP3"] .comment').count()) === 2);
    await until('FRA sees the public one and its group one', async () => {
      const t = await fra.locator('.row[data-label="PP3"] .margin').innerText();
      return t.includes('JPN public') && t.includes('EU coordination');
    });
    await fra.locator('.comment', { hasText: 'JPN public' }).locator('.reply-text').fill('FRA: agreed');
    await fra.locator('.comment', { hasText: 'JPN public' }).locator('.reply-btn').click();
    await until('reply reaches JPN', async () => (await jpn.locator('.comment', { hasText: 'JPN public' }).innerText()).includes('FRA: agreed'));
    await chair.locator('.comment', { hasText: 'JPN public' }).locator('.resolve').click();
    await until('resolved on JPN page', async () => (await jpn.locator('.comment.resolved', { hasText: 'JPN public' }).count()) === 1);
    await sleep(800);
    for (const [who, p] of [['FRA', fra], ['chair', chair]]) {
      const html = await p.content();
      if (html.includes('JPN private')) throw new Error(`${who}'s page contains JPN's private comment`);
    }
    const chairSees = await chair.locator('.paragraphs').innerText();
    if (chairSees.includes('EU coordination')) throw new Error("the chair (not in EU) sees the EU group's comment");
    // The server refuses a join of another delegation's scope outright.
    const status = await fra.evaluate(async ({ doc, tok }) => {
      return new Promise((res) => {
        const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/sync/${doc}/comments/delegation/JPN?token=${tok}`);
        ws.onopen = () => res('open');
        ws.onerror = () => res('refused');
      });
    }, { doc: DOC, tok: tokens.fra });
    if (status !== 'refused') throw new Error('FRA could open JPN\'s private comment scope');
  });

  await check('proposals: a delegation proposes, the chair accepts, the text changes on every page', async () => {
    await jpn.locator('.row[data-label="OP5"] .propose-btn').click();
    const form = jpn.locator('.row[data-label="OP5"] .propose-form');
    const proposed = 'Requests the United Nations Office on Drugs and Crime to convene an expert group meeting on reducing reoffending;';
    await form.locator('textarea').fill(proposed);
    await form.locator('.submit-proposal').click();
    const prop = chair.locator('.row[data-label="OP5"] .proposal[data-delegation="JPN"]');
    await until('the chair sees the proposal', async () => (await prop.count()) === 1);
    await until('FRA sees it too', async () => (await fra.locator('.row[data-label="OP5"] .proposal[data-delegation="JPN"]').count()) === 1);
    await fra.locator('.row[data-label="OP5"] .proposal .support').click();
    await until('support shown to the chair', async () => (await prop.innerText()).includes('supported by FRA'));
    await prop.locator('.accept').click();
    await until('text replaced on JPN and FRA pages', async () => (await textOf(jpn, 'OP5')) === proposed && (await textOf(fra, 'OP5')) === proposed);
    await until('proposal no longer pending', async () => (await jpn.locator('.row[data-label="OP5"] .proposal').count()) === 0);
    if ((await jpn.locator('.row[data-label="OP5"] .ptext em').innerText()).trim() !== 'Requests') {
      throw new Error('the italic opening was lost when the proposal was applied');
    }
  });

  // Before negotiation mode (delegates still type): the history in words, a burst as one step, the redline.
  await check('history: a sentence typed key by key is one step named by delegation and label; compare shows it as a redline', async () => {
    const sentence = ' Japan types this sentence key by key.';
    const before = await textOf(chair, 'OP2');
    await typeAtEnd(jpn, 'OP2', sentence);
    await until('the sentence reaches the chair', async () => (await textOf(chair, 'OP2')) === before + sentence);
    await chair.locator('#toggle-history').click();
    await until('timeline loaded', async () => {
      const s = await chair.locator('.history-status').innerText();
      if (/not available/.test(s)) throw new Error(s);
      return /steps/.test(s);
    }, 10000);
    const steps = await chair.locator('.history-steps > .step').evaluateAll((els) => els.map((e) => ({ text: e.querySelector('.step-line').textContent, edits: Number(e.dataset.edits) })));
    const last = steps[steps.length - 1];
    if (!last || !last.text.startsWith('Delegate of Japan · OP2 · ')) throw new Error(`the last step reads ${JSON.stringify(last?.text)}`);
    if (!(last.edits >= 5)) throw new Error(`the typed sentence is ${last.edits} edit(s) in its step, not a burst`);
    const all = steps.map((s) => s.text).join('\n');
    if (/delegate:|chair:|\bp\d+\b/.test(all)) throw new Error(`the timeline shows internal ids:\n${all}`);
    if (steps.reduce((n, s) => n + s.edits, 0) <= steps.length) throw new Error('no step groups several edits');
    // Expandable: the step lists its edits.
    await chair.locator('.history-steps > .step').last().locator('.step-expand').click();
    await until('the step expands to its edits', async () => (await chair.locator('.history-steps > .step').last().locator('.step-entry').count()) === last.edits);
    // Filters: by paragraph and by delegation.
    await chair.locator('#history-filter-delegation').selectOption('JPN');
    await until('only JPN steps', async () => (await chair.locator('.history-steps > .step .step-line').allInnerTexts()).every((t) => t.startsWith('Delegate of Japan')));
    await chair.locator('#history-filter-paragraph').selectOption('OP2');
    await until('only JPN steps in OP2', async () => {
      const ts = await chair.locator('.history-steps > .step .step-line').allInnerTexts();
      return ts.length >= 1 && ts.every((t) => /^Delegate of Japan · .*OP2/.test(t));
    });
    await chair.locator('#history-filter-delegation').selectOption('');
    await chair.locator('#history-filter-paragraph').selectOption('');
    // Compare the point before the sentence with the current text: the typed words underlined, no JSON.
    const fromIdx = await chair.locator('.compare-from option').evaluateAll((os) => os.map((o) => o.textContent).findLastIndex((t) => t.includes('Delegate of Japan · OP2')) - 1);
    if (fromIdx < 0) throw new Error('no point before the sentence to compare from');
    await chair.locator('.compare-from').selectOption({ index: fromIdx });
    await chair.locator('.compare-to').selectOption({ label: 'current text' });
    await chair.locator('.compare-btn').click();
    const ins = await until('the typed words underlined in the compare view', async () => {
      const t = (await chair.locator('.compare-view .change[data-label="OP2"] ins').allInnerTexts()).join(' ');
      if (/not available/.test(await chair.locator('.compare-result').innerText())) throw new Error(await chair.locator('.compare-result').innerText());
      return t.includes('key by key.') && t;
    });
    if (!ins.includes('Japan types this sentence')) throw new Error(`inserted words: ${ins}`);
    const deco = await chair.locator('.compare-view ins').first().evaluate((el) => getComputedStyle(el).textDecorationLine);
    if (!deco.includes('underline')) throw new Error(`inserted words are not underlined (${deco})`);
    const view = await chair.locator('.history-view').innerText();
    if (/"op"|[{}]/.test(view)) throw new Error('the history view shows raw JSON');
    await shot(chair, 'history-redline');
    await chair.locator('#toggle-history').click();
  });

  await check('negotiation mode: the chair switches; delegates can no longer type, only propose', async () => {
    await chair.locator('#mode-select').selectOption('negotiation');
    await until('JPN page in negotiation mode', async () => (await jpn.locator('body[data-mode="negotiation"]').count()) === 1);
    if ((await jpn.locator('.row[data-label="OP6"].locked').count()) !== 1) throw new Error('OP6 not locked for JPN in negotiation mode');
    await chair.locator('#mode-select').selectOption('open');
    await until('back to open mode', async () => (await jpn.locator('.row[data-label="OP6"].locked').count()) === 0);
  });

  await check('sessions: a short-lived token expires, the page renews it and reconnects by itself; nothing typed is lost', async () => {
    // 14 s: long enough for the page to open and type under a loaded CI machine (8 s was not).
    const short = token('delegate', 'Delegate of Mexico', ['--delegation', 'MEX', '--ttl', '14s']);
    const ctx = await browser.newContext({ viewport: { width: 1500, height: 950 } });
    const mex = await ctx.newPage();
    mex.on('pageerror', (e) => console.log(`  [mex page error] ${e.message}`));
    pages.mex = mex;
    const sockets = [];
    mex.on('websocket', (ws) => sockets.push(ws.url()));
    // The renewal is held until released, so that the page is seen offline and typed into meanwhile.
    let release;
    const held = new Promise((r) => (release = r));
    await mex.route('**/api/dev/token', async (route) => {
      await held;
      await route.continue();
    });
    await mex.goto(`${base}/?doc=${DOC}&token=${short}`);
    await mex.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
    if (mex.url().includes('token=')) throw new Error(`the token stayed in the address bar: ${mex.url()}`);
    const conn = mex.locator('.topbar .conn');
    await until('the page says it is live', async () => (await conn.innerText()).includes('live'));

    await typeAtEnd(mex, 'OP1', ' [MEX before expiry]');
    await until('the first words reach the FRA page', async () => (await textOf(fra, 'OP1')).includes('[MEX before expiry]'));

    // At `exp` the server closes the connection (4001); the page says so in plain words.
    await until('the page says the session expired', async () => (await conn.innerText()).includes('your session expired; reconnecting'), 25000);
    await shot(mex, 'session-expired');
    await typeAtEnd(mex, 'OP1', ' [MEX while disconnected]');
    await sleep(500);
    if ((await textOf(fra, 'OP1')).includes('[MEX while disconnected]')) throw new Error('words typed while disconnected arrived before the page reconnected');
    release();

    await until('the page says the session was renewed', async () => {
      const notice = mex.locator('.notice');
      return (await notice.isVisible()) && (await notice.innerText()).includes('Session renewed');
    }, 10000);
    await until('the page is live again', async () => (await conn.innerText()).includes('live'), 10000);
    await until('everything MEX typed reaches the FRA page', async () => {
      const t = await textOf(fra, 'OP1');
      return t.includes('[MEX before expiry]') && t.includes('[MEX while disconnected]');
    }, 10000);
    const own = await textOf(mex, 'OP1');
    if (!own.includes('[MEX before expiry] [MEX while disconnected]')) throw new Error(`the MEX page's OP1 reads: ${own}`);
    await shot(mex, 'session-renewed');

    // The token was renewed, and never put in a URL: every WebSocket used a ticket.
    const stored = await mex.evaluate(() => JSON.parse(sessionStorage.getItem('plenary.session')).token);
    if (stored === short) throw new Error('the stored token was not renewed');
    if (mex.url().includes('token=')) throw new Error(`the address bar holds a token: ${mex.url()}`);
    if (sockets.length < 2) throw new Error(`expected a reconnection, saw ${sockets.length} WebSocket(s)`);
    for (const u of sockets) {
      if (u.includes('token=') || !u.includes('ticket=')) throw new Error(`a WebSocket URL without a ticket, or with a token: ${u.replace(/=[^&]+/g, '=…')}`);
    }
    delete pages.mex;
    await ctx.close();
  });

  await check('sessions: a page opened with an expired token renews it (401 for its ticket) and opens the draft', async () => {
    const stale = token('delegate', 'Delegate of Chile', ['--delegation', 'CHL', '--ttl', '1s']);
    await sleep(2200);
    const chl = await open('chl', `${base}/?doc=${DOC}&token=${stale}`);
    await chl.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
    await until('the page says the session was renewed', async () => (await chl.locator('.notice').innerText()).includes('Session renewed'));
    await until('the page is live', async () => (await chl.locator('.topbar .conn').innerText()).includes('live'));
    if (chl.url().includes('token=')) throw new Error(`the token stayed in the address bar: ${chl.url()}`);
    delete pages.chl;
    await chl.context().close();
  });

  await check('screenshots: three participants with comments open', async () => {
    await fra.locator('.row[data-label="PP3"]').scrollIntoViewIfNeeded();
    await jpn.locator('.row[data-label="PP3"]').scrollIntoViewIfNeeded();
    await chair.locator('.row[data-label="OP4"]').scrollIntoViewIfNeeded();
    await fra.locator('.row[data-label="OP2"] .ptext').click();
    await sleep(300);
    await shot(jpn, 'editor-jpn-comments');
    await shot(fra, 'editor-fra-comments');
    await shot(chair, 'editor-chair');
  });

  if (process.env.PLENARY_BROWSER_SKIP_HISTORY) {
    console.log('SKIPPED history, versions and compare checks (PLENARY_BROWSER_SKIP_HISTORY is set)');
    return;
  }
  await check('history: the timeline slider shows an earlier state, with its author', async () => {
    await chair.locator('#toggle-history').click();
    await until('timeline loaded', async () => {
      const s = await chair.locator('.history-status').innerText();
      if (/not available/.test(s)) throw new Error(s);
      return /steps/.test(s);
    }, 10000);
    const max = Number(await chair.locator('#history-slider').getAttribute('max'));
    if (!(max >= 3)) throw new Error(`timeline has only ${max + 1} steps`);
    await until('latest state shows the accepted proposal', async () => (await chair.locator('.history-doc').innerText()).includes('convene an expert group meeting on reducing reoffending;'));
    await chair.locator('#history-slider').evaluate((el) => {
      el.value = '0';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await until('earliest state: no edits yet', async () => {
      const t = await chair.locator('.history-doc').innerText();
      return t.includes('Reducing reoffending') && !t.includes('[JPN edit]') && !t.includes('Alpha ');
    });
    const author = await chair.locator('.step-author').innerText();
    if (!author.trim()) throw new Error('no author shown for the step');
    // A step in the middle: JPN's edit is there, the accepted proposal is not yet.
    const mid = await chair.$$eval('.history-steps .step', (els) => els.findIndex((e) => /Japan|JPN/.test(e.textContent)));
    if (mid >= 0) {
      await chair.locator('#history-slider').evaluate((el, v) => {
        el.value = String(v);
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }, mid);
      await until('a JPN step is attributed', async () => /Japan|JPN/.test(await chair.locator('.step-author').innerText()));
    }
    await shot(chair, 'history-view');
  });

  await check('versions and compare: the chair names a version and compares it with the current text', async () => {
    await chair.locator('.version-name').fill('Rev.2');
    await chair.locator('.version-form button').click();
    await until('version listed', async () => (await chair.locator('.version', { hasText: 'Rev.2' }).count()) === 1, 8000);
    await chair.locator('.compare-btn').click();
    await until('compare result shown', async () => {
      const t = await chair.locator('.compare-result').innerText();
      if (/not available/.test(t)) throw new Error(t);
      return t.length > 0 && !/Comparing/.test(t);
    });
    if (/"op"|[{}]/.test(await chair.locator('.history-view').innerText())) throw new Error('the history view shows raw JSON');
    await shot(chair, 'history-compare');
  });

  await check('export menu: drafting checks in words, the compilation text, Word tracked against Rev.2', async () => {
    const jpn = pages.jpn;
    // Typed at the end of a paragraph, the words leave it without its closing punctuation.
    await jpn.locator('#toggle-export').click();
    await jpn.locator('.export-item[data-view="checks"]').click();
    const first = await until('a finding shown', async () => {
      const items = await jpn.locator('#review-panel .finding').allInnerTexts();
      return items[0];
    });
    if (!/^(PP|OP)\d+\S* (does not open in italics|does not end as it should|is empty)/.test(first)) throw new Error(`finding not in words: ${first}`);
    if (/[{}"]/.test(await jpn.locator('#review-panel').innerText())) throw new Error('the panel shows raw JSON');
    await shot(jpn, 'export-checks');
    await jpn.locator('#toggle-export').click();
    const [compilation] = await Promise.all([jpn.waitForEvent('download'), jpn.locator('.export-item[data-view="compilation"]').click()]);
    if (compilation.suggestedFilename() !== `${DOC}-compilation.html`) throw new Error(`compilation saved as ${compilation.suggestedFilename()}`);
    await jpn.locator('#toggle-export').click();
    await jpn.locator('.export-item[data-view="tracked"]').click();
    await until('Rev.2 offered', async () => (await jpn.locator('#tracked-base option', { hasText: 'Rev.2' }).count()) === 1);
    const [docx] = await Promise.all([jpn.waitForEvent('download'), jpn.locator('#tracked-download').click()]);
    if (docx.suggestedFilename() !== `${DOC}-tracked-against-Rev.2.docx`) throw new Error(`tracked .docx saved as ${docx.suggestedFilename()}`);
  });

  // ---- issue 14: suggestions, compilation text, the chair's restructuring, provisional labels, sponsors ----
  // Three delegations (JPN, FRA of the EU group, MEX) and the chair. Labels count against Rev.2, named above.
  const mex = await open('mex', `${base}/?doc=${DOC}&token=${token('delegate', 'Delegate of Mexico', ['--delegation', 'MEX'])}`);
  await mex.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
  const everyone = [jpn, fra, mex, chair];
  // The chair left the history view open above: back to the draft.
  if (await chair.locator('body.history-open').count()) await chair.locator('#toggle-history').click();
  const prop6 = (p) => p.locator('.row[data-label="OP6"] .proposal[data-delegation="FRA"]');

  await check('suggestions: a replace proposal is shown with struck and inserted words; empty and no-op proposals are refused in the form', async () => {
    const current = await textOf(fra, 'OP6');
    const words = current.split(' ');
    const old = words[2];
    const proposed = [...words.slice(0, 2), 'carefully', 'reviewed', ...words.slice(3)].join(' ');
    await fra.locator('.row[data-label="OP6"] .propose-btn').click();
    const form = fra.locator('.row[data-label="OP6"] .propose-form');
    await form.locator('textarea').fill('   ');
    await form.locator('.submit-proposal').click();
    if (!/empty/.test(await form.locator('.form-problem').innerText())) throw new Error('an empty proposal was not refused by the form');
    await form.locator('textarea').fill(current);
    await form.locator('.submit-proposal').click();
    if (!/does not change/.test(await form.locator('.form-problem').innerText())) throw new Error('a no-op proposal was not refused by the form');
    await form.locator('.propose-behalf').selectOption('EU');
    await form.locator('textarea').fill(proposed);
    await form.locator('.submit-proposal').click();
    for (const p of everyone) {
      await until('the suggestion on every page', async () => (await prop6(p).count()) === 1);
      const del = await prop6(p).locator('.sugg-del').allInnerTexts();
      const ins = (await prop6(p).locator('.sugg-ins').allInnerTexts()).join('');
      if (del.join('').trim() !== old || !/carefully reviewed/.test(ins)) throw new Error(`marked up as struck ${JSON.stringify(del)} / inserted ${JSON.stringify(ins)}`);
      const head = await prop6(p).locator('.proposal-head').innerText();
      if (!/FRA on behalf of EU proposes to change OP6/.test(head)) throw new Error(`head reads ${head}`);
    }
    if ((await fra.locator('.row[data-label="OP6"] .proposal').count()) !== 1) throw new Error('the refused empty or no-op proposal was sent');
    await prop6(mex).scrollIntoViewIfNeeded();
    await shot(mex, 'suggestion-inline');
  });

  await check('support: two delegations support; every page shows the supporters', async () => {
    await prop6(jpn).locator('.support').click();
    await until('JPN supporting on MEX page', async () => /supported by JPN/.test(await prop6(mex).locator('.supporters').innerText()));
    await prop6(mex).locator('.support').click();
    for (const p of everyone) await until('both supporters', async () => /supported by JPN, MEX/.test(await prop6(p).locator('.supporters').innerText()));
    if ((await prop6(fra).locator('.support').count()) !== 0) throw new Error('the proposer is offered to support its own proposal');
  });

  await check('compilation text: the open alternative with its delegation and supporters, updated live', async () => {
    await mex.locator('#toggle-compilation').click();
    const alt = mex.locator('.compilation-view .comp-alt[data-delegation="FRA"]');
    await until('alternative listed', async () => (await alt.count()) === 1);
    const t = await alt.innerText();
    if (!t.startsWith('OP6 Alt 1 (FRA on behalf of EU; supported by JPN, MEX): [') || !t.includes('carefully reviewed')) throw new Error(`compilation reads ${t}`);
    await alt.scrollIntoViewIfNeeded();
    await shot(mex, 'compilation-view');
    await prop6(jpn).locator('.support').click(); // JPN withdraws its support
    await until('compilation updated live', async () => /\(FRA on behalf of EU; supported by MEX\)/.test(await alt.innerText()));
    await mex.locator('#toggle-compilation').click();
  });

  await check('proposal kinds where they apply; decided proposals stay listed with who and when', async () => {
    await jpn.locator('.row[data-label="OP1"] .propose-btn').click();
    const form = jpn.locator('.row[data-label="OP1"] .propose-form');
    await form.locator('.propose-action').selectOption('delete');
    await form.locator('.submit-proposal').click();
    await until('OP1 struck on the chair page', async () => (await chair.locator('.row[data-label="OP1"].proposed-delete').count()) === 1);
    await mex.locator('.row[data-label="OP1"] .propose-btn').click();
    const f2 = mex.locator('.row[data-label="OP1"] .propose-form');
    await f2.locator('.propose-action').selectOption('insert');
    await f2.locator('textarea').fill('Invites Member States to report;');
    await f2.locator('.submit-proposal').click();
    await until('ghost paragraph on the FRA page', async () => /Invites Member States to report;/.test(await fra.locator('.row[data-label="OP1"] .ghost-para').innerText().catch(() => '')));
    await chair.locator('.row[data-label="OP1"] .proposal[data-action="delete"] .reject').click();
    await prop6(fra).locator('.withdraw').click();
    for (const p of [jpn, chair]) {
      await until('the rejection recorded', async () => {
        const d = p.locator('.row[data-label="OP1"] details.decided');
        if (!(await d.count())) return false;
        await d.evaluate((el) => (el.open = true));
        return /delete — rejected by Chair \(Ms\. Ortiz\)/.test(await d.innerText());
      });
      await until('the withdrawal recorded', async () => {
        const d = p.locator('.row[data-label="OP6"] details.decided');
        if (!(await d.count())) return false;
        await d.evaluate((el) => (el.open = true));
        return /withdrawn by FRA/.test(await d.innerText());
      });
    }
    if ((await chair.locator('.row[data-label="OP1"].proposed-delete').count()) !== 0) throw new Error('OP1 still struck after the rejection');
    await chair.locator('.row[data-label="OP1"] details.decided').scrollIntoViewIfNeeded();
    await shot(chair, 'decided-proposals');
  });

  await check('the chair inserts a paragraph between OP2 and OP3: every page shows OP2bis with its italic opening', async () => {
    const op3 = await textOf(chair, 'OP3');
    await chair.locator('.row[data-label="OP2"] .insert-after').click();
    const form = chair.locator('.row[data-label="OP2"] .insert-form');
    await form.locator('.insert-opening-pick').selectOption('Urges');
    await form.locator('.insert-text').fill('Member States to share good practices;');
    await form.locator('.submit-insert').click();
    for (const p of everyone) {
      await until('OP2bis on every page', async () => (await p.locator('.row[data-label="OP2bis"]').count()) === 1);
      if ((await textOf(p, 'OP2bis')) !== 'Urges Member States to share good practices;') throw new Error(`OP2bis reads ${await textOf(p, 'OP2bis')}`);
      if ((await p.locator('.row[data-label="OP2bis"] .ptext em').innerText()).trim() !== 'Urges') throw new Error('no italic opening');
      if ((await p.locator('.row[data-label="OP2bis"] .num').innerText()).trim() !== '2bis.') throw new Error('OP2bis not numbered 2bis.');
      if ((await textOf(p, 'OP3')) !== op3) throw new Error('OP3 was renumbered before a version was named');
    }
    await jpn.locator('.row[data-label="OP2bis"]').scrollIntoViewIfNeeded();
    await shot(jpn, 'provisional-op2bis');
  });

  await check('naming a version renumbers on every page: OP2bis becomes OP3', async () => {
    const r = await fetch(`${base}/api/docs/${DOC}/versions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens.chair}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Rev.3' }),
    });
    if (r.status !== 201) throw new Error(`naming Rev.3: HTTP ${r.status}`);
    for (const p of everyone) {
      await until('renumbered', async () => (await p.locator('.row[data-label="OP2bis"]').count()) === 0 && (await textOf(p, 'OP3')) === 'Urges Member States to share good practices;');
      if (!/Labels since Rev\.3/.test(await p.locator('.revision').innerText())) throw new Error('the page does not say which version it counts from');
    }
    await fra.locator('.row[data-label="OP3"]').scrollIntoViewIfNeeded();
    await shot(fra, 'renumbered-after-rev3');
  });

  await check('the chair moves a paragraph and deletes it; every page agrees', async () => {
    const order = (p) => p.$$eval('.paragraphs .row', (rows) => rows.map((r) => `${r.dataset.label}|${r.querySelector('.ptext').textContent}`));
    await chair.locator('.row[data-label="OP3"] .move-down').click();
    await until('moved on every page', async () => {
      const all = await Promise.all(everyone.map(order));
      const i = all[0].findIndex((l) => l.startsWith('OP3|Urges'));
      return i > 0 && all[0][i - 1].startsWith('OP4|') && all.every((o) => JSON.stringify(o) === JSON.stringify(all[0]));
    });
    await chair.locator('.row[data-label="OP3"] .delete-para').click();
    await until('deleted on every page', async () => {
      const all = await Promise.all(everyone.map(order));
      return !all[0].some((l) => l.includes('share good practices')) && all.every((o) => JSON.stringify(o) === JSON.stringify(all[0]));
    });
  });

  await check('sponsors: delegations co-sponsor and withdraw; the header lists them on every page', async () => {
    await mex.locator('.cosponsor').click();
    await jpn.locator('.cosponsor').click();
    for (const p of everyone) await until('co-sponsors listed', async () => /MEX/.test(await p.locator('.sponsors-list').innerText()) && /JPN/.test(await p.locator('.sponsors-list').innerText()));
    await mex.locator('.withdraw-sponsor').click();
    for (const p of everyone) await until('MEX withdrawn', async () => !/MEX/.test(await p.locator('.sponsors-list').innerText()) && /JPN/.test(await p.locator('.sponsors-list').innerText()));
    await chair.locator('.un-sponsors').scrollIntoViewIfNeeded();
    await shot(chair, 'sponsors-header');
  });

  // ---- decisions on the server: two proposals accepted in either order; a proposed move ----
  // Two fresh documents made through the API from the same text, each with JPN, FRA and the chair
  // open on it. The pages of the draft above are closed first (the machine running this is small).
  for (const who of ['jpn', 'fra', 'mex', 'chair']) {
    await pages[who].context().close();
    delete pages[who];
  }
  const fixture = readFileSync(join(repo, 'tests/fixtures/reducing-reoffending-2021-rev1.txt'), 'utf8');
  const orders = { 'both-orders-ab': ['JPN', 'FRA'], 'both-orders-ba': ['FRA', 'JPN'] };
  const on = {}; // on[doc] = { jpn, fra, chair }
  const everyPage = () => Object.values(on).flatMap((s) => [s.jpn, s.fra, s.chair]);
  const decidedText = async (p, label) => {
    const d = p.locator(`.row[data-label="${label}"] details.decided`);
    if (!(await d.count())) return '';
    await d.evaluate((el) => (el.open = true));
    return d.innerText();
  };

  await check('accept in both orders: JPN and FRA change different words of OP1; A then B and B then A give the same text on every page', async () => {
    await Promise.all(Object.keys(orders).map(async (name) => {
      const r = await fetch(`${base}/api/docs`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${tokens.chair}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name, text: fixture }),
      });
      if (r.status !== 201) throw new Error(`creating ${name}: HTTP ${r.status} ${await r.text()}`);
    }));
    await Promise.all(Object.keys(orders).flatMap((name) => ['jpn', 'fra', 'chair'].map(async (who) => {
      const p = await open(`${name}-${who}`, `${base}/?doc=${name}&token=${tokens[who]}`);
      await p.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
      await until('OP1 rendered', async () => (await p.locator('.row[data-label="OP1"]').count()) === 1, 15000);
      (on[name] ??= {})[who] = p;
    })));
    const original = await textOf(on['both-orders-ab'].jpn, 'OP1');
    const change = {
      JPN: ['comprehensive strategies', 'national strategies'],
      FRA: ['effective interventions', 'evidence-based interventions'],
    };
    for (const [from] of Object.values(change)) if (!original.includes(from)) throw new Error(`OP1 of the fixture has no "${from}": ${original}`);
    const expected = original.replace(...change.JPN).replace(...change.FRA);
    await Promise.all(Object.entries(orders).map(async ([name, [first, second]]) => {
      const s = on[name];
      for (const [p, who] of [[s.jpn, 'JPN'], [s.fra, 'FRA']]) {
        await p.locator('.row[data-label="OP1"] .propose-btn').click();
        const form = p.locator('.row[data-label="OP1"] .propose-form');
        await form.locator('textarea').fill(original.replace(...change[who]));
        await form.locator('.submit-proposal').click();
      }
      const prop = (who) => s.chair.locator(`.row[data-label="OP1"] .proposal[data-delegation="${who}"]`);
      await until(`the chair of ${name} sees both proposals`, async () => (await prop('JPN').count()) === 1 && (await prop('FRA').count()) === 1);
      for (const who of [first, second]) {
        await prop(who).locator('.accept').click();
        await until(`${who}'s proposal decided on ${name}`, async () => (await prop(who).count()) === 0);
      }
    }));
    let texts = [];
    await until('every page of both documents shows OP1 with both changes', async () => {
      texts = await Promise.all(everyPage().map((p) => textOf(p, 'OP1')));
      return texts.every((t) => t === expected);
    }).catch((e) => {
      throw new Error(`${e.message}; the pages read ${JSON.stringify([...new Set(texts)])}, expected ${JSON.stringify(expected)}`);
    });
    for (const p of everyPage()) {
      if ((await p.locator('.row[data-label="OP1"] .ptext em').innerText()).trim() !== 'Encourages') throw new Error('the italic opening of OP1 was lost');
      await until('both decisions recorded with the chair and the time', async () => {
        const t = await decidedText(p, 'OP1');
        return /2 decided proposals/.test(t) && (t.match(/accepted by Chair \(Ms\. Ortiz\), \S/g) ?? []).length === 2 && /JPN/.test(t) && /FRA/.test(t);
      });
    }
    const c = on['both-orders-ba'].chair;
    await c.locator('.row[data-label="OP1"]').scrollIntoViewIfNeeded();
    await shot(c, 'accept-both-orders');
  });

  await check('a delegate proposes to move OP3 after OP5 from the form; the chair accepts; every page shows the new order', async () => {
    const s = on['both-orders-ab'];
    const pagesHere = [s.jpn, s.fra, s.chair];
    const before = await allTexts(s.chair);
    const body = (label) => before.find((l) => l.startsWith(`${label}|`)).slice(label.length + 1);
    await s.jpn.locator('.row[data-label="OP3"] .propose-btn').click();
    const form = s.jpn.locator('.row[data-label="OP3"] .propose-form');
    await form.locator('.propose-action').selectOption('move');
    const offered = await form.locator('.propose-after option').allInnerTexts();
    if (!offered.includes('to the top') || !offered.includes('after OP5') || offered.includes('after OP2') || offered.includes('after OP3')) {
      throw new Error(`the move offers ${JSON.stringify(offered)}`);
    }
    await form.locator('.propose-after').selectOption({ label: 'after OP5' });
    await form.locator('.submit-proposal').click();
    for (const p of pagesHere) {
      const card = p.locator('.row[data-label="OP3"] .proposal[data-action="move"][data-delegation="JPN"]');
      await until('the move card on every page', async () => (await card.count()) === 1);
      const said = (await card.locator('.move-summary').innerText()).trim();
      if (said !== 'Move OP3 after OP5') throw new Error(`the card reads ${said}`);
      await until('the ghost at OP5', async () => /OP3 would move here · proposed by JPN/.test(await p.locator('.row[data-label="OP5"] .move-ghost').textContent().catch(() => '')));
    }
    // The card under OP3 and the ghost under OP5 in one view (below the sticky top bar).
    await s.chair.locator('.paragraphs .row[data-label="OP3"]').evaluate((el) => { el.scrollIntoView({ block: 'start' }); window.scrollBy(0, -50); });
    await shot(s.chair, 'move-proposed');
    await s.chair.locator('.row[data-label="OP3"] .proposal[data-action="move"] .accept').click();
    const want = before.map((l) => {
      const label = l.slice(0, l.indexOf('|'));
      return label === 'OP3' ? `OP3|${body('OP4')}` : label === 'OP4' ? `OP4|${body('OP5')}` : label === 'OP5' ? `OP5|${body('OP3')}` : l;
    });
    await until('the new order on every page', async () => {
      const all = await Promise.all(pagesHere.map(allTexts));
      return all.every((o) => JSON.stringify(o) === JSON.stringify(want));
    });
    for (const p of pagesHere) {
      if ((await p.locator('.move-ghost').count()) !== 0) throw new Error('a ghost of the decided move stays');
      await until('the move recorded as accepted', async () => /move after OP4 — accepted by Chair \(Ms\. Ortiz\)/.test(await decidedText(p, 'OP5')));
    }
    await s.jpn.locator('.row[data-label="OP5"]').scrollIntoViewIfNeeded();
    await shot(s.jpn, 'move-accepted');
  });
}

let code = 0;
try {
  await main();
} catch (e) {
  code = 1;
  if (!failed) console.log(`FAIL setup: ${e.stack || e.message}`);
} finally {
  const passed = results.filter((r) => r.ok).length;
  console.log(`\n${passed}/${results.length} checks passed${code ? ' (stopped at the first failure)' : ''}; screenshots in ${artifacts}`);
  await browser?.close().catch(() => {});
  server?.kill('SIGTERM');
  await sleep(300);
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(code);
