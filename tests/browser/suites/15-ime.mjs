// IME-safe binding (issue 15, item 11): Japanese or Chinese input composes
// text in the page before committing it. A remote change to the paragraph
// arriving meanwhile must not destroy the composition, and composed text obeys
// the same locks as typed text. Driven through Chromium's own IME entry points
// (CDP Input.imeSetComposition / Input.insertText), as an input method does.

export default async function (t) {
  const DOC = 'ime-binding';
  await t.createDoc(DOC);
  const link = (tok) => `${t.base}/?doc=${DOC}&token=${tok}`;
  const jpn = await t.open('ime-jpn', link(t.tokens.jpn));
  const fra = await t.open('ime-fra', link(t.tokens.fra));
  const chair = await t.open('ime-chair', link(t.tokens.chair));
  const all = [jpn, fra, chair];
  await Promise.all(all.map((p) => p.waitForSelector('body[data-synced="true"]', { timeout: 15000 })));
  const cdp = await jpn.context().newCDPSession(jpn);
  /** The paragraph's text in the page's document (not its element). */
  const modelText = (p, label) =>
    p.evaluate((l) => [...window.__plenary.views.values()].find((v) => v.label === l)?.binding?.text.toString(), label);
  const para = (p, label) => p.locator(`.paragraphs .row[data-label="${label}"] .ptext`);
  const caretAtEnd = async (p, label) => {
    await para(p, label).click();
    await p.keyboard.press('Control+End');
  };

  await t.check('IME: a composition in OP2 survives a remote edit in OP2, the composed text lands where it was composed, and the pages converge', async () => {
    const before = await modelText(chair, 'OP2');
    const remote = 'FRA-meanwhile ';
    await caretAtEnd(jpn, 'OP2');
    await cdp.send('Input.imeSetComposition', { text: 'にほん', selectionStart: 3, selectionEnd: 3 });
    await t.until('the composition shows in OP2', async () => (await para(jpn, 'OP2').innerText()).endsWith('にほん'), 3000);
    // FRA types at the start of the same paragraph while JPN composes.
    await para(fra, 'OP2').click();
    await fra.keyboard.press('Control+Home');
    await fra.keyboard.type(remote, { delay: 10 });
    await t.until("FRA's words reach JPN's document", async () => (await modelText(jpn, 'OP2')) === remote + before, 8000);
    await t.sleep(300);
    // The composition is still open and still shows what was being composed.
    const shown = await para(jpn, 'OP2').innerText();
    if (!shown.endsWith('にほん')) throw new Error(`the composition was destroyed: OP2 shows ${JSON.stringify(shown.slice(-40))}`);
    const composing = await jpn.evaluate(() => [...window.__plenary.views.values()].find((v) => v.label === 'OP2').binding.isComposing);
    if (!composing) throw new Error('the composition was ended by the remote edit');
    await cdp.send('Input.imeSetComposition', { text: 'にほんご', selectionStart: 4, selectionEnd: 4 });
    await cdp.send('Input.insertText', { text: '日本語' });
    const want = `${remote}${before}日本語`;
    await t.until('the composed text lands at the end, after FRA’s words at the start, on every page', async () => {
      for (const p of all) if ((await modelText(p, 'OP2')) !== want || (await para(p, 'OP2').innerText()) !== want) return false;
      return true;
    }, 8000);
    await t.shot(jpn, 'ime-composed-after-remote-edit');
    // Typing goes on where the composition ended.
    await jpn.keyboard.type('!');
    await t.until('the next keystroke follows the composed text', async () => (await modelText(fra, 'OP2')) === `${want}!`, 5000);
  });

  await t.check('IME: a delegate composing in an agreed paragraph lands nothing, whether it was agreed before or during the composition', async () => {
    // Agreed before: the page locks it, and a composition there lands nothing.
    await chair.locator('.row[data-label="OP4"] select.status-select').selectOption('agreed');
    await t.until('OP4 locked for JPN', async () => (await jpn.locator('.row[data-label="OP4"].status-agreed.locked').count()) === 1);
    const op4 = await modelText(chair, 'OP4');
    await para(jpn, 'OP4').click();
    await cdp.send('Input.imeSetComposition', { text: 'にほん', selectionStart: 3, selectionEnd: 3 });
    await cdp.send('Input.insertText', { text: '日本' });
    // Agreed during: JPN starts composing in OP5 while it is open, the chair agrees it, JPN commits.
    const op5 = await modelText(chair, 'OP5');
    await caretAtEnd(jpn, 'OP5');
    await cdp.send('Input.imeSetComposition', { text: 'ちゅうごく', selectionStart: 5, selectionEnd: 5 });
    await t.until('the composition shows in OP5', async () => (await para(jpn, 'OP5').innerText()).endsWith('ちゅうごく'), 3000);
    await chair.locator('.row[data-label="OP5"] select.status-select').selectOption('agreed');
    await t.until('OP5 locked for JPN', async () => (await jpn.locator('.row[data-label="OP5"].status-agreed.locked').count()) === 1);
    await cdp.send('Input.insertText', { text: '中国' });
    await t.sleep(1500);
    for (const [label, agreed] of [['OP4', op4], ['OP5', op5]]) {
      for (const p of all) {
        const m = await modelText(p, label);
        const shown = await para(p, label).innerText();
        if (m !== agreed || shown !== agreed) throw new Error(`${label} changed: ${JSON.stringify(shown.slice(-30))}`);
      }
      // The page's own lock stopped it: nothing was sent for the server to refuse.
      if ((await jpn.locator(`.row[data-label="${label}"] .refusal-message`).count()) !== 0) throw new Error(`the composition in ${label} was sent and refused by the server`);
    }
    const notice = await jpn.locator('.notice').innerText();
    if (!/agreed and locked/.test(notice)) throw new Error(`JPN was not told why: ${notice}`);
    await t.shot(jpn, 'ime-agreed-locked');
  });

  await cdp.detach();
  for (const p of all) await p.context().close();
}
