// The heading, title and footnotes edited in the page (issue 15, item 8):
// the secretariat changes them, every page shows the new values, they persist
// and reach the exports; a delegate's page shows them read-only, and what a
// delegate's client writes anyway is refused by the server.

const DOC = 'header-edit';

export default async function (t) {
  const { base, check, until, sleep, shot } = t;
  await t.createDoc(DOC);
  const secToken = t.token('secretariat', 'Secretariat (Mr. Lee)');
  const url = (token) => `${base}/?doc=${DOC}&token=${token}`;
  const sec = await t.open('header-sec', url(secToken));
  const jpn = await t.open('header-jpn', url(t.tokens.jpn));
  const chair = await t.open('header-chair', url(t.tokens.chair));
  const synced = async (p) => {
    await p.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
    await until('paragraphs rendered', async () => (await p.locator('.paragraphs .row').count()) > 10);
  };
  for (const p of [sec, jpn, chair]) await synced(p);

  const field = (p, key) => p.locator(`.workspace .hf[data-key="${key}"]`);
  const valueOf = (p, key) => field(p, key).evaluate((el) => el.textContent);
  const note = (p, i) => p.locator('.workspace .footnote .fn-text').nth(i);
  const noteText = (p, i) => note(p, i).evaluate((el) => el.textContent);
  const everywhere = async (what, pages, fn, ms = 10000) =>
    until(what, async () => {
      for (const p of pages) if (!(await fn(p))) return false;
      return true;
    }, ms);
  const api = async (path, token = t.tokens.chair) => {
    const r = await fetch(`${base}/api/docs/${DOC}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
    return r;
  };

  const oldTitle = await valueOf(chair, 'title');
  const oldDate = await valueOf(chair, 'date');
  const oldAgenda = await valueOf(chair, 'agendaItem');
  const oldNote = await noteText(chair, 0);
  const newTitle = 'Reducing reoffending through rehabilitation, reintegration and aftercare';
  const newDate = '21 May 2021';
  const newAgenda = `${oldAgenda} (b)`;
  const noteAdd = ' Corrected by the secretariat.';

  await check('header: the secretariat edits the title, the date, the agenda item and a footnote in the page; the delegate and the chair see them', async () => {
    if (!/reoffending/i.test(oldTitle) || !oldDate || !oldAgenda || !oldNote) {
      throw new Error(`the fixture's heading is not as expected: ${JSON.stringify({ oldTitle, oldDate, oldAgenda, oldNote })}`);
    }
    if ((await field(sec, 'title').getAttribute('contenteditable')) === 'false') throw new Error('the title is not editable for the secretariat');
    // The title, replaced whole.
    await field(sec, 'title').click();
    await sec.keyboard.press('Control+A');
    await sec.keyboard.type(newTitle, { delay: 10 });
    // The date, replaced whole.
    await field(sec, 'date').click();
    await sec.keyboard.press('Control+A');
    await sec.keyboard.type(newDate, { delay: 10 });
    // The agenda item, added to at its end (Enter is not a line break in a one-line field).
    await field(sec, 'agendaItem').click();
    await sec.keyboard.press('End');
    await sec.keyboard.type(' (b)', { delay: 10 });
    await sec.keyboard.press('Enter');
    // The first footnote's text.
    await note(sec, 0).click();
    await sec.keyboard.press('Control+End');
    await sec.keyboard.type(noteAdd, { delay: 10 });

    await everywhere('the new title, date, agenda item and footnote on the delegate\'s, the chair\'s and the secretariat\'s pages', [sec, jpn, chair], async (p) =>
      (await valueOf(p, 'title')) === newTitle &&
      (await valueOf(p, 'date')) === newDate &&
      (await valueOf(p, 'agendaItem')) === newAgenda &&
      (await noteText(p, 0)) === oldNote + noteAdd,
    );
    // What a reader sees: the title line of the page.
    const shown = await jpn.locator('.workspace .un-res-title').innerText();
    if (shown.trim() !== newTitle) throw new Error(`the delegate's page shows the title as ${JSON.stringify(shown)}`);
    const agendaLine = await jpn.locator('.workspace .un-agenda').innerText();
    if (agendaLine.trim() !== `Agenda item ${newAgenda}`) throw new Error(`the delegate's page shows the agenda line as ${JSON.stringify(agendaLine)}`);
    await note(sec, 0).scrollIntoViewIfNeeded();
    await shot(sec, 'header-secretariat-footnote-edited');
    await sec.evaluate(() => window.scrollTo(0, 0));
    await shot(sec, 'header-secretariat-edited');
  });

  await check('header: after a reload the new title, date, agenda item and footnote are still there, and the text export carries them', async () => {
    await jpn.reload();
    await sec.reload();
    for (const p of [jpn, sec]) await synced(p);
    for (const p of [jpn, sec]) {
      const got = { title: await valueOf(p, 'title'), date: await valueOf(p, 'date'), agenda: await valueOf(p, 'agendaItem'), note: await noteText(p, 0) };
      const want = { title: newTitle, date: newDate, agenda: newAgenda, note: oldNote + noteAdd };
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`after reload: ${JSON.stringify(got)}`);
    }
    const text = await (await api('?format=text')).text();
    for (const s of [newTitle, newDate, newAgenda, noteAdd.trim()]) if (!text.includes(s)) throw new Error(`the text export lacks ${JSON.stringify(s)}`);
    if (text.includes(oldTitle + '\n')) throw new Error('the text export still carries the old title');
  });

  await check("header: a delegate's page shows the heading, title and footnotes read-only, with the reason; typing into them changes nothing", async () => {
    for (const key of ['title', 'date', 'agendaItem', 'symbol', 'submittedBy']) {
      const el = field(jpn, key);
      if ((await el.getAttribute('contenteditable')) !== 'false') throw new Error(`${key} is editable on the delegate's page`);
      if ((await el.getAttribute('aria-readonly')) !== 'true') throw new Error(`${key} is not marked read-only`);
      const why = (await el.getAttribute('title')) ?? '';
      if (!/only the chair or the secretariat/.test(why)) throw new Error(`${key} gives no reason on hover: ${JSON.stringify(why)}`);
    }
    if ((await note(jpn, 0).getAttribute('contenteditable')) !== 'false') throw new Error("a footnote is editable on the delegate's page");
    if ((await jpn.locator('.add-footnote').count()) !== 0) throw new Error('the delegate is offered "Add a footnote"');
    // Typing into the title and a footnote: nothing changes, anywhere; the page says why.
    await field(jpn, 'title').click();
    const hint = await field(jpn, 'title').evaluate((el) => getComputedStyle(el, '::after').content);
    if (!/Read-only: only the chair or the secretariat/.test(hint)) throw new Error(`no reason shown on focus: ${hint}`);
    await shot(jpn, 'header-delegate-read-only');
    await jpn.keyboard.type('HIJACK', { delay: 10 });
    await note(jpn, 0).click();
    await jpn.keyboard.press('End');
    await jpn.keyboard.type(' HIJACK', { delay: 10 });
    const notice = jpn.locator('.notice');
    await until('the delegate is told why', async () => (await notice.isVisible()) && /You cannot edit (the title|footnote 1): only the chair or the secretariat/.test(await notice.innerText()));
    await sleep(600);
    for (const p of [jpn, sec, chair]) {
      if ((await valueOf(p, 'title')) !== newTitle) throw new Error(`the title changed: ${await valueOf(p, 'title')}`);
      if ((await noteText(p, 0)) !== oldNote + noteAdd) throw new Error(`the footnote changed: ${await noteText(p, 0)}`);
    }
  });

  await check("header: an observer's page shows them read-only too; the chair edits them like the secretariat", async () => {
    const obs = await t.open('header-observer', url(t.token('observer', 'Observer (UNODC)')));
    await synced(obs);
    if ((await valueOf(obs, 'title')) !== newTitle) throw new Error(`the observer sees the title as ${await valueOf(obs, 'title')}`);
    for (const el of [field(obs, 'title'), field(obs, 'date'), note(obs, 0)]) {
      if ((await el.getAttribute('contenteditable')) !== 'false') throw new Error("a heading field or footnote is editable on the observer's page");
      if (!/observers read the text/.test((await el.getAttribute('title')) ?? '')) throw new Error(`no reason for the observer: ${await el.getAttribute('title')}`);
    }
    await obs.close();
    // The chair: the submitted-by line, seen by the secretariat and the delegate.
    const line = 'Japan and Thailand: revised draft resolution';
    await field(chair, 'submittedBy').click();
    await chair.keyboard.press('Control+A');
    await chair.keyboard.type(line, { delay: 10 });
    await everywhere('the chair\'s submitted-by line on every page', [sec, jpn, chair], async (p) => (await valueOf(p, 'submittedBy')) === line);
  });

  await check("header: what a delegate's client writes into the heading or a footnote anyway is refused by the server, reverted, and seen by no one", async () => {
    // The page's own lock switched off (its test hook): keystrokes go through the page's
    // binding, the stock y-websocket provider, the server's refusal and its reverting update.
    await jpn.evaluate(() => window.__plenary.setIgnoreLocalLocks(true));
    await field(jpn, 'date').click();
    await jpn.keyboard.press('End');
    await jpn.keyboard.type(' HIJACK', { delay: 10 });
    await note(jpn, 0).click();
    await jpn.keyboard.press('End');
    await jpn.keyboard.type(' HIJACK', { delay: 10 });
    await jpn.evaluate(() => window.__plenary.setIgnoreLocalLocks(false));
    // And a raw write to the shared map, as any Yjs client could send.
    await jpn.evaluate(() => window.__plenary.roots.meta.set('title', 'Hijacked title'));
    await everywhere('the heading and the footnote back to the secretariat\'s values on every page', [jpn, sec, chair], async (p) =>
      (await valueOf(p, 'date')) === newDate && (await valueOf(p, 'title')) === newTitle && (await noteText(p, 0)) === oldNote + noteAdd,
    );
    const notice = jpn.locator('.notice');
    await until('the delegate is told the change was not kept', async () => (await notice.isVisible()) && /was not kept: only the chair or the secretariat/.test(await notice.innerText()));
    const text = await (await api('?format=text')).text();
    if (text.includes('HIJACK') || text.includes('Hijacked')) throw new Error('the refused words reached the export');
    for (const p of [sec, chair]) if ((await p.locator('.workspace').innerText()).includes('HIJACK')) throw new Error('the refused words reached another page');
  });

  const added = 'See E/CN.15/2021/1, para. 12.';
  await check('header: the secretariat adds a footnote at the caret in a paragraph; every page shows its mark and its text', async () => {
    const before = await chair.locator('.workspace .footnote').count();
    const marksBefore = await chair.locator('.paragraphs .row[data-label="OP1"] .fn-ref').count();
    await t.typeAtEnd(sec, 'OP1', '');
    await sec.locator('.add-footnote').click();
    await until('the new footnote has the caret', async () => sec.evaluate(() => !!document.activeElement?.classList.contains('fn-text')));
    await sec.keyboard.type(added, { delay: 10 });
    await everywhere('the new footnote and its mark in OP1 on every page', [sec, jpn, chair], async (p) =>
      (await p.locator('.workspace .footnote').count()) === before + 1 &&
      (await p.locator('.paragraphs .row[data-label="OP1"] .fn-ref').count()) === marksBefore + 1 &&
      (await p.locator('.workspace .footnote .fn-text', { hasText: added }).count()) === 1,
    );
    const json = await (await api('?format=json')).json();
    const r = json.resolution ?? json;
    const fn = (r.footnotes ?? []).find((f) => (f.text ?? []).map((x) => x.text).join('') === added);
    if (!fn) throw new Error('the JSON export lacks the new footnote');
    const op1 = (r.paragraphs ?? []).find((p) => p.label === 'OP1');
    if (!op1 || !(op1.text ?? []).some((x) => x.footnote === fn.id)) throw new Error('OP1 carries no mark of the new footnote in the export');
    await chair.locator('.workspace .footnote .fn-text', { hasText: added }).scrollIntoViewIfNeeded();
    await shot(chair, 'header-footnote-added');
  });

  await check('header: the secretariat deletes the footnote it added; every page loses it and its mark', async () => {
    const before = await chair.locator('.workspace .footnote').count();
    const marksBefore = await chair.locator('.paragraphs .row[data-label="OP1"] .fn-ref').count();
    const op1 = await t.textOf(chair, 'OP1');
    if ((await jpn.locator('.delete-footnote').count()) !== 0) throw new Error('the delegate is offered to delete footnotes');
    await sec.locator('.workspace .footnote', { hasText: added }).locator('.delete-footnote').click();
    await everywhere('the footnote and its mark gone on every page', [sec, jpn, chair], async (p) =>
      (await p.locator('.workspace .footnote').count()) === before - 1 &&
      (await p.locator('.workspace .footnote .fn-text', { hasText: added }).count()) === 0 &&
      (await p.locator('.paragraphs .row[data-label="OP1"] .fn-ref').count()) === marksBefore - 1,
    );
    const now = await t.textOf(chair, 'OP1');
    if (now.length !== op1.length - 1) throw new Error(`OP1 changed by more than its mark: ${JSON.stringify(op1)} → ${JSON.stringify(now)}`);
    const json = await (await api('?format=json')).json();
    const r = json.resolution ?? json;
    if ((r.footnotes ?? []).some((f) => (f.text ?? []).map((x) => x.text).join('') === added)) throw new Error('the export still has the deleted footnote');
  });

  await check('header: Ctrl+Z takes back a footnote just added, on every page; Ctrl+Shift+Z brings it back', async () => {
    const before = await chair.locator('.workspace .footnote').count();
    const marks = (p) => p.locator('.paragraphs .row[data-label="OP3"] .fn-ref').count();
    const marksBefore = await marks(chair);
    await t.typeAtEnd(sec, 'OP3', '');
    await sec.locator('.add-footnote').click();
    await until('the new footnote has the caret', async () => sec.evaluate(() => !!document.activeElement?.classList.contains('fn-text')));
    await everywhere('the new footnote on every page', [sec, chair], async (p) => (await p.locator('.workspace .footnote').count()) === before + 1 && (await marks(p)) === marksBefore + 1);
    await sec.keyboard.press('Control+Z');
    await everywhere('the footnote and its mark gone again on every page', [sec, jpn, chair], async (p) => (await p.locator('.workspace .footnote').count()) === before && (await marks(p)) === marksBefore);
    await t.typeAtEnd(sec, 'OP3', '');
    await sec.keyboard.press('Control+Shift+Z');
    await everywhere('the footnote back on every page', [sec, jpn, chair], async (p) => (await p.locator('.workspace .footnote').count()) === before + 1 && (await marks(p)) === marksBefore + 1);
    await sec.keyboard.press('Control+Z');
    await everywhere('and gone again', [sec, chair], async (p) => (await p.locator('.workspace .footnote').count()) === before);
  });

  await check("header: a footnote a delegate's client adds anyway is refused by the server; no one else sees it or its mark", async () => {
    const count = async (p) => p.locator('.workspace .footnote').count();
    const marks = async (p) => p.locator('.paragraphs .row[data-label="OP2"] .fn-ref').count();
    const before = { notes: await count(chair), marks: await marks(chair), text: await t.textOf(chair, 'OP2') };
    // The page's own lock off (test hook), the caret at the end of OP2 (open), then the page's own "add a footnote".
    await t.typeAtEnd(jpn, 'OP2', '');
    await jpn.evaluate(() => {
      window.__plenary.setIgnoreLocalLocks(true);
      window.__plenary.header.addFootnote();
      window.__plenary.setIgnoreLocalLocks(false);
    });
    const notice = jpn.locator('.notice');
    await until('the delegate is told the footnote was not kept', async () => (await notice.isVisible()) && /not kept: only the chair or the secretariat changes footnotes/.test(await notice.innerText()));
    await everywhere('the footnotes and OP2\'s marks as they were, on every page', [jpn, sec, chair], async (p) => (await count(p)) === before.notes && (await marks(p)) === before.marks);
    const json = await (await api('?format=json')).json();
    const r = json.resolution ?? json;
    if ((r.footnotes ?? []).length !== before.notes) throw new Error(`the server kept ${(r.footnotes ?? []).length} footnotes (${before.notes} before)`);
    const op2 = (r.paragraphs ?? []).find((p) => p.label === 'OP2');
    if ((op2?.text ?? []).some((x) => x.footnote)) throw new Error('OP2 carries a footnote mark in the export');
    console.log(`  OP2 after the refused footnote: ${JSON.stringify((await t.textOf(chair, 'OP2')).slice(before.text.length - 20))}`);
  });

  await check("header: the history names the secretariat's heading edits, and compare shows the new title", async () => {
    await chair.locator('#toggle-history').click();
    const steps = chair.locator('.history-steps .step');
    await until('a step of the secretariat in the heading', async () => {
      for (const s of await steps.allInnerTexts()) if (/^Secretariat \(Mr\. Lee\) · the header or footnotes/.test(s)) return true;
      return false;
    }, 15000);
    await chair.locator('.compare-btn').click();
    await until('the compare view names the title change', async () => {
      const out = await chair.locator('.compare-result').innerText();
      return /Title/.test(out) && out.includes('aftercare');
    }, 15000);
    await shot(chair, 'header-history');
    await chair.locator('#toggle-history').click();
  });
}
