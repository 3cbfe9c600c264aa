// Offline work (issue 15, item 7): the page says truthfully that it is
// offline, keeps what the user types in the browser (IndexedDB, per document
// and per user), and sends it once the server is back, through the server's
// refusal path; and a link to a document the token does not open says so in
// plain words instead of "connecting" forever.
//
// The server is stopped and started again here (t.stopServer/restartServer):
// it is always running again when this suite returns.

const OFFLINE = 'offline — your edits are kept and will be sent';

export default async function (t) {
  const DOC = 'offline-work';
  await t.createDoc(DOC);
  const link = (tok, doc = DOC) => `${t.base}/?doc=${doc}&token=${tok}`;
  const synced = (p) => p.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
  const conn = (p) => p.locator('.topbar .conn').innerText();
  const live = (p, ms = 15000) => t.until('the page says live', async () => (await conn(p)).includes('live'), ms);
  const text = async (p, label) => (await t.textOf(p, label)).trim();

  const jpn = await t.open('offline-jpn', link(t.tokens.jpn));
  const fra = await t.open('offline-fra', link(t.tokens.fra));
  await Promise.all([synced(jpn), synced(fra)]);
  await Promise.all([live(jpn), live(fra)]);
  const ctx = jpn.context(); // "the same browser": tabs opened later in it share its IndexedDB
  let down = false;
  const stop = async () => {
    await t.stopServer();
    down = true;
  };
  const restart = async () => {
    await t.restartServer();
    down = false;
  };
  let tab = jpn;

  try {
    await t.check(`offline: within 5 s of the server stopping the page says "${OFFLINE}"`, async () => {
      await stop();
      const t0 = Date.now();
      await t.until('the offline state', async () => (await conn(jpn)).includes(OFFLINE), 5000);
      console.log(`  offline state after ${Date.now() - t0} ms: ${await conn(jpn)}`);
      // It stays that way while the page keeps trying (no "connecting…" between attempts).
      for (let i = 0; i < 12; i++) {
        const said = await conn(jpn);
        if (!said.includes(OFFLINE)) throw new Error(`the page said ${JSON.stringify(said)} while the server was down`);
        await t.sleep(250);
      }
    });

    await t.check('offline: an edit typed while the server is down survives closing the tab and reaches FRA once the document is opened again', async () => {
      const words = ' [JPN typed this offline, then closed the tab]';
      const before = await text(fra, 'OP2');
      await t.typeAtEnd(jpn, 'OP2', words);
      const unsent = jpn.locator('.topbar .unsent');
      await t.until('the page shows unsent edits in OP2', async () => (await unsent.isVisible()) && /unsent edits in OP2/.test(await unsent.innerText()), 5000);
      await t.shot(jpn, 'offline-unsent-edits');
      await jpn.close();
      await restart();
      await live(fra);
      await t.sleep(1000);
      if ((await text(fra, 'OP2')).includes(words.trim())) throw new Error('FRA has the words before the tab was opened again: the test proves nothing');
      tab = await ctx.newPage();
      tab.on('pageerror', (e) => console.log(`  [offline-jpn page error] ${e.message}`));
      await tab.goto(link(t.tokens.jpn));
      await t.until('FRA receives the offline words', async () => (await text(fra, 'OP2')) === `${before}${words}`.trim(), 15000);
      await t.until('the reopened page no longer shows unsent edits', async () => !(await tab.locator('.topbar .unsent').isVisible()), 8000);
      if ((await text(tab, 'OP2')) !== (await text(fra, 'OP2'))) throw new Error('the two pages differ in OP2');
    });

    await t.check('offline: an edit typed offline survives a page reload made before the page reconnects, then reaches FRA', async () => {
      await synced(tab);
      await live(tab);
      const words = ' [JPN typed this offline, then reloaded]';
      const before = await text(fra, 'OP3');
      await stop();
      await t.until('offline', async () => (await conn(tab)).includes(OFFLINE), 5000);
      await t.typeAtEnd(tab, 'OP3', words);
      await t.until('unsent edits in OP3', async () => /unsent edits in OP3/.test(await tab.locator('.topbar .unsent').innerText()), 5000);
      // The server comes back, but this browser cannot reach the sync yet (no tickets): still offline when reloaded.
      await ctx.route('**/api/tickets', (r) => r.abort());
      await restart();
      await tab.reload();
      await t.until('the reloaded page shows the offline words in OP3', async () => (await text(tab, 'OP3')) === `${before}${words}`.trim(), 8000);
      await t.until('the reloaded page says the edits are unsent', async () => /unsent edits in OP3/.test(await tab.locator('.topbar .unsent').innerText()), 5000);
      await t.until('and offline', async () => (await conn(tab)).includes(OFFLINE), 8000);
      await t.shot(tab, 'offline-reloaded');
      if ((await text(fra, 'OP3')).includes(words.trim())) throw new Error('FRA has the words while JPN was offline');
      await ctx.unroute('**/api/tickets');
      await t.until('FRA receives the words typed before the reload', async () => (await text(fra, 'OP3')) === `${before}${words}`.trim(), 15000);
      await t.until('the unsent marker goes once the server has them', async () => !(await tab.locator('.topbar .unsent').isVisible()), 8000);
    });

    await t.check("offline: another user signing in on the same browser never sends the first user's stored edits; the first user's own page does", async () => {
      const words = ' [only the first JPN user may send this]';
      await live(tab);
      const before = await text(fra, 'OP5');
      await stop();
      await t.until('offline', async () => (await conn(tab)).includes(OFFLINE), 5000);
      await t.typeAtEnd(tab, 'OP5', words);
      await t.until('unsent edits in OP5', async () => /unsent edits in OP5/.test(await tab.locator('.topbar .unsent').innerText()), 5000);
      await tab.close();
      await restart();
      // B: the same delegation (the server would accept the words from B's page, attributed to B), another person.
      const other = t.token('delegate', 'Alternate delegate of Japan', ['--delegation', 'JPN', '--sub', 'delegate:JPN:alternate']);
      const b = await ctx.newPage();
      b.on('pageerror', (e) => console.log(`  [offline-b page error] ${e.message}`));
      await b.goto(link(other));
      await synced(b);
      await live(b);
      await t.sleep(2500);
      if ((await text(b, 'OP5')).includes(words.trim())) throw new Error("B's page shows the first user's stored words");
      if ((await text(fra, 'OP5')).includes(words.trim())) throw new Error("B's page sent the first user's stored words");
      if (await b.locator('.topbar .unsent').isVisible()) throw new Error("B's page says it has unsent edits");
      await b.close();
      tab = await ctx.newPage();
      await tab.goto(link(t.tokens.jpn));
      await t.until("the first user's page sends them", async () => (await text(fra, 'OP5')) === `${before}${words}`.trim(), 15000);
    });

    await t.check('offline: an edit kept offline and refused on reconnect (the chair agreed the paragraph meanwhile) is shown like any refusal, its words kept aside', async () => {
      const chair = await t.open('offline-chair', link(t.tokens.chair));
      await Promise.all([synced(chair), synced(tab)]);
      await live(tab);
      const agreed = await text(chair, 'OP6');
      const words = 'and reports on it offline';
      await ctx.setOffline(true);
      await t.until('offline', async () => (await conn(tab)).includes(OFFLINE), 5000);
      await chair.locator('.row[data-label="OP6"] select.status-select').selectOption('agreed');
      await t.until('OP6 agreed for FRA', async () => (await fra.locator('.row[data-label="OP6"].status-agreed').count()) === 1);
      // The offline page has not heard: OP6 is still open there.
      await t.typeAtEnd(tab, 'OP6', ` ${words}`);
      await ctx.setOffline(false);
      const msg = tab.locator('.row[data-label="OP6"] .refusal-message');
      await t.until('the refusal is shown at OP6', async () => (await msg.count()) === 1 && /agreed and locked/.test(await msg.innerText()), 15000);
      const box = tab.locator('.row[data-label="OP6"] .refused-words-text');
      await t.until('the refused words are kept aside', async () => (await box.count()) === 1 && (await box.innerText()).trim() === words, 8000);
      await t.until('OP6 back to its agreed text on the page', async () => (await text(tab, 'OP6')) === agreed, 8000);
      await t.shot(tab, 'offline-refused-on-reconnect');
      for (const [who, p] of [['FRA', fra], ['chair', chair]]) if ((await text(p, 'OP6')) !== agreed) throw new Error(`${who}'s OP6 changed`);
      await t.until('nothing left unsent', async () => !(await tab.locator('.topbar .unsent').isVisible()), 8000);
      await chair.context().close();
    });

    await t.check('a link to a document the token does not open, and to a missing one, says so in plain words within 5 s', async () => {
      const narrow = t.token('delegate', 'Delegate of Chile', ['--delegation', 'CHL', '--docs', 'some-other-draft']);
      const p = await ctx.newPage();
      const t0 = Date.now();
      await p.goto(link(narrow));
      const box = p.locator('.open-problem');
      await t.until('the not-covered message', async () => (await box.isVisible()) && /You cannot open this document/.test(await box.innerText()), 5000);
      console.log(`  not covered: shown after ${Date.now() - t0} ms`);
      const said = await box.innerText();
      if (!/ask the secretariat/.test(said) || !said.includes(DOC)) throw new Error(`the message reads: ${said}`);
      await t.shot(p, 'offline-not-covered');
      await t.sleep(2000);
      if (!(await box.isVisible()) || /connecting/.test(await conn(p))) throw new Error(`the page went back to ${await conn(p)}`);
      const t1 = Date.now();
      await p.goto(link(t.tokens.jpn, 'no-such-draft'));
      await t.until('the missing-document message', async () => (await box.isVisible()) && /There is no document named “no-such-draft”/.test(await box.innerText()), 5000);
      console.log(`  missing: shown after ${Date.now() - t1} ms`);
      await t.shot(p, 'offline-missing-document');
      await p.close();
    });
  } finally {
    if (down) await t.restartServer();
    await ctx.unroute('**/api/tickets').catch(() => {});
    await ctx.setOffline(false).catch(() => {});
  }
  await ctx.close();
  await fra.context().close();
}
