// Comments anchored to words, comments on deleted paragraphs, and observers'
// comments under the chair's policy (issue 15 item 6; SPEC §1, §2 comments).

const DOC = 'comments-anchored';

/** The text offset of `words` in a paragraph (throws when absent). */
async function offsetOf(page, label, words) {
  const text = await page.locator(`.paragraphs .row[data-label="${label}"] .ptext`).textContent();
  const at = text.indexOf(words);
  if (at < 0) throw new Error(`"${words}" is not in ${label}: ${text}`);
  return at;
}

/** Puts the caret (or a selection) at text offsets of a paragraph, as a click would. */
async function caretAt(page, label, start, end = start) {
  await page.locator(`.paragraphs .row[data-label="${label}"] .ptext`).focus();
  await page.evaluate(({ label, start, end }) => {
    const el = document.querySelector(`.paragraphs .row[data-label="${label}"] .ptext`);
    const point = (off) => {
      const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      let left = off;
      for (let n = w.nextNode(); n; n = w.nextNode()) {
        if (left <= n.data.length) return [n, left];
        left -= n.data.length;
      }
      throw new Error(`offset ${off} is past the end`);
    };
    const [a, ao] = point(start);
    const [b, bo] = point(end);
    document.getSelection().setBaseAndExtent(a, ao, b, bo);
  }, { label, start, end });
}

/** Selects `words` in a paragraph by dragging the mouse over them. */
async function dragSelect(page, label, words) {
  const at = await offsetOf(page, label, words);
  await page.locator(`.paragraphs .row[data-label="${label}"] .ptext`).scrollIntoViewIfNeeded();
  const box = await page.evaluate(({ label, at, len }) => {
    const el = document.querySelector(`.paragraphs .row[data-label="${label}"] .ptext`);
    const rectOf = (off) => {
      const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      let left = off;
      for (let n = w.nextNode(); n; n = w.nextNode()) {
        if (left < n.data.length) {
          const r = document.createRange();
          r.setStart(n, left);
          r.setEnd(n, left + 1);
          const b = r.getBoundingClientRect();
          return { x0: b.left, x1: b.right, y: (b.top + b.bottom) / 2 };
        }
        left -= n.data.length;
      }
      throw new Error('past the end');
    };
    return { first: rectOf(at), last: rectOf(at + len - 1) };
  }, { label, at, len: words.length });
  await page.mouse.move(box.first.x0 + 1, box.first.y);
  await page.mouse.down();
  await page.mouse.move((box.first.x0 + box.last.x1) / 2, (box.first.y + box.last.y) / 2, { steps: 4 });
  await page.mouse.move(box.last.x1 - 1, box.last.y, { steps: 4 });
  await page.mouse.up();
}

/** The highlighted words of a paragraph, and the text before the first highlight. */
async function highlight(page, label) {
  return page.evaluate((label) => {
    const el = document.querySelector(`.paragraphs .row[data-label="${label}"] .ptext`);
    const marks = [...el.querySelectorAll('mark.comment-anchor')];
    if (!marks.length) return null;
    const r = document.createRange();
    r.selectNodeContents(el);
    r.setEndBefore(marks[0]);
    return { words: marks.map((m) => m.textContent).join(''), before: r.toString(), title: marks[0].title, contiguous: marks.every((m, i) => i === 0 || m.previousSibling === marks[i - 1]) };
  }, label);
}

/** What a user reads on the page (the notice and the comment forms): never rule ids. */
async function visibleText(page) {
  return page.evaluate(() => document.body.innerText);
}

export default async function comments(t) {
  await t.createDoc(DOC);
  const url = (tok) => `${t.base}/?doc=${DOC}&token=${tok}`;
  const observerToken = t.token('observer', 'Observer (ICRC)');
  const jpn = await t.open('comments-jpn', url(t.tokens.jpn));
  const fra = await t.open('comments-fra', url(t.tokens.fra));
  const chair = await t.open('comments-chair', url(t.tokens.chair));
  const obs = await t.open('comments-observer', url(observerToken));
  for (const p of [jpn, fra, chair, obs]) await p.waitForSelector('body[data-synced="true"]', { timeout: 15000 });

  const words = 'comprehensive strategies or action plans';
  const remark = 'JPN: "comprehensive" is too strong here';

  await t.check('comments: a comment on selected words highlights exactly those words on every page, and stays on them while another delegation types before, inside and after them and the chair moves the paragraph', async () => {
    await dragSelect(jpn, 'OP1', words);
    await jpn.locator('.paragraphs .row[data-label="OP1"] .comment-btn').click();
    const form = jpn.locator('.row[data-label="OP1"] form.comment-form');
    const quoted = await form.locator('q.comment-quote').textContent();
    if (quoted !== words) throw new Error(`the form quotes "${quoted}", not the selected "${words}"`);
    await form.locator('select.comment-scope').selectOption('public');
    await form.locator('textarea.comment-text').fill(remark);
    await form.locator('.post-comment').click();
    const before0 = 'Encourages Member States to develop ';
    for (const [who, p] of [['JPN', jpn], ['FRA', fra], ['chair', chair]]) {
      await t.until(`${who} highlights the words`, async () => (await highlight(p, 'OP1'))?.words === words);
      const hl = await highlight(p, 'OP1');
      if (hl.before !== before0) throw new Error(`${who}: the highlight starts after "${hl.before}", not after "${before0}"`);
      if (!hl.title.includes(remark)) throw new Error(`${who}: the highlight's title does not name the comment: ${hl.title}`);
    }
    // FRA types at the paragraph's start, right before the words, among them and right after them.
    await caretAt(fra, 'OP1', before0.length - 'to develop '.length);
    await fra.keyboard.type('urgently ', { delay: 10 });
    await caretAt(fra, 'OP1', await offsetOf(fra, 'OP1', words));
    await fra.keyboard.type('very ', { delay: 10 });
    await caretAt(fra, 'OP1', (await offsetOf(fra, 'OP1', words)) + 'comprehensive '.length);
    await fra.keyboard.type('and inclusive ', { delay: 10 });
    const grown = 'comprehensive and inclusive strategies or action plans';
    await caretAt(fra, 'OP1', (await offsetOf(fra, 'OP1', grown)) + grown.length);
    await fra.keyboard.type(' and policies', { delay: 10 });
    const before1 = 'Encourages Member States urgently to develop very ';
    for (const [who, p] of [['JPN', jpn], ['chair', chair], ['FRA', fra]]) {
      await t.until(`${who} has FRA's words`, async () => (await t.textOf(p, 'OP1')).includes(`${grown} and policies`));
      await t.until(`${who}'s highlight is on the words and what was typed among them`, async () => {
        const hl = await highlight(p, 'OP1');
        return hl?.words === grown && hl.before === before1 && hl.contiguous;
      }).catch(async (e) => {
        throw new Error(`${e.message}: ${JSON.stringify(await highlight(p, 'OP1'))}`);
      });
    }
    // The chair deletes text before the words: the highlight does not move off them.
    const at = await offsetOf(chair, 'OP1', 'urgently ');
    await caretAt(chair, 'OP1', at, at + 'urgently '.length);
    await chair.keyboard.press('Backspace');
    await t.until('JPN highlights the same words after the deletion', async () => {
      const hl = await highlight(jpn, 'OP1');
      return hl?.words === grown && hl.before === 'Encourages Member States to develop very ';
    });
    // A click on the highlight points at the comment.
    await chair.locator('.paragraphs .row[data-label="OP1"] mark.comment-anchor').first().click();
    await t.until('the clicked highlight shows its comment', async () => (await chair.locator('.comment.shown').innerText()).includes(remark));
    if (!(await chair.locator('.comment.shown').isVisible())) throw new Error('the comment shown is not visible');
    await t.shot(chair, 'comments-anchored');
    // The chair moves the paragraph down (a move copies its text): the highlight follows the words.
    await chair.locator('.paragraphs .row[data-label="OP1"] .move-down').click();
    for (const [who, p] of [['JPN', jpn], ['FRA', fra], ['chair', chair]]) {
      await t.until(`${who} highlights the words in the moved paragraph, now OP2`, async () => (await highlight(p, 'OP2'))?.words === grown);
    }
    // The author's page anchored the comment again, so a page opened now finds the words too.
    const fresh = await t.open('comments-fresh', url(t.tokens.chair));
    await fresh.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
    await t.until('a page opened after the move highlights the words', async () => (await highlight(fresh, 'OP2'))?.words === grown);
    await fresh.context().close();
  });

  await t.check('comments: after the chair deletes the paragraph, its comment stays listed with its quote and the paragraph\'s last text, also on a page opened afterwards', async () => {
    // JPN's page keeps its comment's copy of the paragraph current.
    await t.until("JPN's comment holds the paragraph's latest text", () =>
      jpn.evaluate(() => window.__plenary.comments.all().some((c) => (c.paragraphText ?? '').includes('and policies') && !c.paragraphText.includes('urgently'))),
    );
    const op1 = await t.textOf(chair, 'OP2');
    if (!op1.includes('and policies')) throw new Error(`OP2 is not the commented paragraph: ${op1}`);
    await chair.locator('.paragraphs .row[data-label="OP2"] .delete-para').click();
    await t.until('the paragraph deleted on FRA', async () => !(await fra.locator('.paragraphs').innerText()).includes('and policies'));
    const late = await t.open('comments-late', url(t.tokens.fra));
    await late.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
    for (const [who, p] of [['FRA', fra], ['JPN', jpn], ['a page opened afterwards', late]]) {
      await t.until(`${who} lists the comment on the deleted paragraph`, async () => {
        const s = p.locator('.orphan-comments');
        if (!(await s.isVisible())) return false;
        const text = await s.innerText();
        return text.includes('On deleted paragraphs') && text.includes(remark);
      });
      const quote = await p.locator('.orphan-comments q.comment-quote').first().textContent();
      if (quote !== words) throw new Error(`${who}: the quote reads "${quote}"`);
      const last = await p.locator('.orphan-comments .orphan-text').first().textContent();
      if (last !== op1) throw new Error(`${who}: the last text reads "${last}", not "${op1}"`);
    }
    await late.locator('.orphan-comments').scrollIntoViewIfNeeded();
    await t.shot(late, 'comments-deleted-paragraph');
    await late.context().close();
  });

  await t.check("comments: a paragraph changed after its commenter left, then deleted: a page opened afterwards shows its true last text (from the history), not the comment's older copy", async () => {
    const away = await t.open('comments-away', url(t.tokens.jpn));
    await away.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
    const quote = 'active involvement of local communities';
    await dragSelect(away, 'OP2', quote);
    await away.locator('.paragraphs .row[data-label="OP2"] .comment-btn').click();
    const form = away.locator('.row[data-label="OP2"] form.comment-form');
    await form.locator('select.comment-scope').selectOption('public');
    await form.locator('textarea.comment-text').fill('JPN: which communities?');
    await form.locator('.post-comment').click();
    await t.until('FRA sees the comment', async () => (await highlight(fra, 'OP2'))?.words === quote);
    await away.context().close();
    await t.typeAtEnd(fra, 'OP2', ' [FRA, after JPN left]');
    await t.until('the chair has FRA\'s words', async () => (await t.textOf(chair, 'OP2')).endsWith('[FRA, after JPN left]'));
    const last = await t.textOf(chair, 'OP2');
    await chair.locator('.paragraphs .row[data-label="OP2"] .delete-para').click();
    const late = await t.open('comments-late2', url(observerToken));
    await late.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
    const orphan = late.locator('.orphan', { hasText: 'JPN: which communities?' });
    await t.until('the late page shows the last text', async () => (await orphan.locator('.orphan-text').textContent()) === last, 15000).catch(async (e) => {
      throw new Error(`${e.message}: ${await orphan.innerText().catch(() => '(no orphan)')}`);
    });
    if ((await orphan.locator('q.comment-quote').textContent()) !== quote) throw new Error('the quote is not shown');
    await late.context().close();
  });

  await t.check('comments: a delegate cannot open comments to observers (the server refuses it, in plain words)', async () => {
    if ((await obs.locator('.comment-btn').count()) !== 0) throw new Error('the observer has a Comment button while the policy forbids it');
    if ((await jpn.locator('#observer-comments').count()) !== 0) throw new Error("a delegate's page offers the observer policy");
    await jpn.evaluate(() => window.__plenary.comments.setObserversMayComment('public', true));
    await t.until('the delegate is told', async () => (await jpn.locator('.notice').innerText()).includes('decides whether observers may comment'));
    await t.until("the delegate's write is reverted", () => jpn.evaluate(() => window.__plenary.comments.observersMayComment('public') === false));
    const notice = await jpn.locator('.notice').innerText();
    if (/\[|meta\.|chair-or-secretariat/.test(notice)) throw new Error(`the refusal shows jargon: ${notice}`);
    await t.sleep(800);
    if ((await obs.locator('.comment-btn').count()) !== 0) throw new Error("the delegate's write reached the observer");
    if ((await chair.locator('#observer-comments').inputValue()) !== 'no') throw new Error("the chair's page shows the delegate's write");
  });

  const note = 'ICRC: please keep the reference to social reintegration';
  const kept = 'ICRC: a second thought we must not lose';
  await t.check('comments: the chair opens comments to observers; the observer comments publicly and the delegates read it; closed again, the observer is refused in plain words and keeps the text', async () => {
    await chair.locator('#observer-comments').selectOption('yes');
    await t.until('the observer gets Comment buttons', async () => (await obs.locator('.comment-btn').count()) > 0);
    await chair.locator('#observer-comments').scrollIntoViewIfNeeded();
    await t.shot(chair, 'comments-policy-chair');
    const pp1 = obs.locator('.row[data-label="PP1"]');
    await pp1.locator('.comment-btn').click();
    await pp1.locator('form.comment-form select.comment-scope').selectOption('public');
    await pp1.locator('form.comment-form textarea.comment-text').fill(note);
    await pp1.locator('form.comment-form .post-comment').click();
    await t.shot(obs, 'comments-observer-allowed');
    for (const [who, p] of [['JPN', jpn], ['FRA', fra]]) {
      await t.until(`${who} reads the observer's comment`, async () => (await p.locator('.row[data-label="PP1"] .margin').innerText()).includes(note));
    }
    // A form open when the chair closes comments to observers keeps its text.
    const pp2 = obs.locator('.row[data-label="PP2"]');
    await pp2.locator('.comment-btn').click();
    await pp2.locator('form.comment-form textarea.comment-text').fill(kept);
    await chair.locator('#observer-comments').selectOption('no');
    await t.until("the observer's Comment buttons go", async () => (await obs.locator('.comment-btn').count()) === 0);
    await pp2.locator('form.comment-form .post-comment').click();
    await t.until('the observer is told in the form', async () => (await pp2.locator('.comment-refusal').innerText()).includes('not opened this document to comments from observers'));
    const typed = await pp2.locator('form.comment-form textarea.comment-text').inputValue();
    if (typed !== kept) throw new Error(`the observer's text was lost: "${typed}"`);
    await t.shot(obs, 'comments-observer-closed');
    await pp2.locator('form.comment-form .cancel-form').click();
    // A page that has not heard of the closing yet: the server refuses, the page says why and keeps the text.
    await obs.evaluate(() => window.__plenary.setIgnoreLocalLocks(true));
    const pp3 = obs.locator('.row[data-label="PP3"]');
    await pp3.locator('.comment-btn').click();
    await pp3.locator('form.comment-form textarea.comment-text').fill(kept);
    await pp3.locator('form.comment-form .post-comment').click();
    await t.until('the server refuses, and the form is back with the text', async () => (await pp3.locator('form.comment-form .comment-refusal').innerText()).includes('not opened this document to comments from observers'));
    const back = await pp3.locator('form.comment-form textarea.comment-text').inputValue();
    if (back !== kept) throw new Error(`the refused text was not put back: "${back}"`);
    const seen = await visibleText(obs);
    const ids = await obs.evaluate(() => window.__plenary.comments.all().map((c) => c.id));
    const jargon = ['observers-disabled', '[comments.', 'permission', ...ids].filter((j) => seen.includes(j));
    if (jargon.length) throw new Error(`the observer's page shows ${jargon.join(', ')}`);
    await t.shot(obs, 'comments-observer-refused');
    await obs.evaluate(() => window.__plenary.setIgnoreLocalLocks(false));
    await t.sleep(800);
    for (const [who, p] of [['JPN', jpn], ['FRA', fra]]) {
      if ((await p.locator('.paragraphs').innerText()).includes(kept)) throw new Error(`the refused comment reached ${who}`);
    }
  });

  for (const p of [jpn, fra, chair, obs]) await p.context().close();
}
