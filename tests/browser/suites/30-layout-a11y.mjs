// Layout and accessibility of the editor (issue 15 items 9 and 10): the page at
// 1440×900, 1280×720 and phone width 390×844 with six people in the room;
// axe-core on each role's page (editor, history with a compare redline, export
// menu open); a keyboard-only flow; and a screenshot of each view at 1440 and
// 390 px (view-<name>-<width>.png in artifacts/).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const DOC = 'layout-a11y';

/**
 * In the page: every visible control (and the presence chips and the user's
 * own name) whose box lies outside the viewport horizontally or is cut off by
 * an ancestor that clips its overflow, or whose text is cut off; and how far
 * the page scrolls sideways.
 */
function offscreen() {
  const vw = document.documentElement.clientWidth;
  const sel = 'button, select, input, textarea, a[href], summary, [contenteditable="true"], [role="textbox"], .peer, .me, .presence-count';
  const bad = [];
  for (const el of document.querySelectorAll(sel)) {
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    if (el.classList.contains('skip-link') && document.activeElement !== el) continue; // parked above the page until focused
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    let why = '';
    if (r.left < -0.5 || r.right > vw + 0.5) why = `spans x ${Math.round(r.left)}..${Math.round(r.right)} of ${vw}`;
    for (let a = el.parentElement; a && !why; a = a.parentElement) {
      if (getComputedStyle(a).overflowX === 'visible') continue;
      const ar = a.getBoundingClientRect();
      if (r.left < ar.left - 0.5 || r.right > ar.right + 0.5) why = `cut off by ${a.tagName.toLowerCase()}.${[...a.classList].join('.')}`;
    }
    if (!why && el.matches('.me, .peer, .presence-count') && el.scrollWidth > el.clientWidth + 1) why = 'its text is cut off';
    if (why) bad.push(`${el.tagName.toLowerCase()}${el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''} “${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30)}”: ${why}`);
  }
  return { bad, scroll: document.documentElement.scrollWidth - vw };
}

async function assertAllReachable(page, where) {
  const { bad, scroll } = await page.evaluate(offscreen);
  if (scroll > 0) throw new Error(`${where}: the page scrolls ${scroll} px sideways`);
  if (bad.length) throw new Error(`${where}: ${bad.length} control(s) off-screen or cut off: ${bad.slice(0, 6).join('; ')}`);
}

const ready = async (t, page) => {
  await page.waitForSelector('body[data-synced="true"]', { timeout: 15000 });
  await t.until('paragraphs rendered', async () => (await page.locator('.paragraphs .row').count()) > 10);
};

const rulesSeen = new Set();
/** Runs axe-core in the page; throws on a serious or critical violation, prints the others. */
async function axe(page, where) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ content: AXE });
  const r = await page.evaluate(async () => {
    const res = await window.axe.run(document, { resultTypes: ['violations'] });
    const brief = (v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 4).map((n) => `${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.split('\n').slice(1, 2).join(' ').trim()}` : ''}`), count: v.nodes.length });
    return { violations: res.violations.map(brief), checked: [...res.passes, ...res.violations, ...res.incomplete].map((v) => v.id) };
  });
  r.checked.forEach((id) => rulesSeen.add(id));
  const grave = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of r.violations.filter((x) => !grave.includes(x))) console.log(`  axe ${where}: ${v.impact} ${v.id} (${v.count}): ${v.help}; e.g. ${v.nodes[0]}`);
  if (grave.length) throw new Error(`axe ${where}: ${grave.map((v) => `${v.impact} ${v.id} ×${v.count} (${v.help}): ${v.nodes.join(' | ')}`).join(' ;; ')}`);
  return r.checked.length;
}

async function openHistoryWithCompare(t, page) {
  if (!(await page.locator('body.history-open').count())) await page.locator('#toggle-history').click();
  await t.until('history steps listed', async () => (await page.locator('.history-steps li').count()) > 0, 15000);
  await t.until('compare choices', async () => (await page.locator('.compare-btn').count()) === 1, 10000);
  await page.locator('.compare-from').selectOption({ index: 0 });
  await page.locator('.compare-btn').click();
  await t.until('a redline shown', async () => (await page.locator('.history-main .compare-view').count()) === 1 && !(await page.locator('.history-main .compare-view').innerText()).includes('Comparing'), 15000);
}

async function closeHistory(page) {
  if (await page.locator('body.history-open').count()) await page.locator('#toggle-history').click();
}

export default async function (t) {
  await t.createDoc(DOC);
  const url = (tok) => `${t.base}/?doc=${DOC}&token=${tok}`;
  const toks = {
    chair: t.tokens.chair,
    secretariat: t.token('secretariat', 'Secretariat (Mr. Lee)'),
    delegate: t.tokens.jpn,
    observer: t.token('observer', 'Observer (ICRC)'),
    fra: t.tokens.fra,
    usa: t.token('delegate', 'Delegate of the United States of America', ['--delegation', 'USA']),
  };
  const p = {};
  for (const [who, tok] of Object.entries(toks)) {
    p[who] = await t.open(`layout-${who}`, url(tok));
    await ready(t, p[who]);
  }
  const { chair, delegate, fra } = p;

  // Something in every view: a named version, edits since, a pending proposal, a comment.
  const v = await fetch(`${t.base}/api/docs/${DOC}/versions`, { method: 'POST', headers: { Authorization: `Bearer ${toks.chair}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'Rev.1' }) });
  if (!v.ok && v.status !== 409) throw new Error(`naming Rev.1: HTTP ${v.status} ${await v.text()}`);
  await t.typeAtEnd(fra, 'OP3', ' and to report thereon at its next session');
  await delegate.locator('.row[data-label="OP2"] .propose-btn').click();
  await delegate.locator('.propose-form textarea.propose-text').fill('Encourages Member States to develop comprehensive national strategies to reduce reoffending, including through education and employment.');
  await delegate.locator('.propose-form .submit-proposal').click();
  await fra.locator('.row[data-label="OP1"] .comment-btn').click();
  await fra.locator('.comment-form textarea.comment-text').fill('Could we say “evidence-based” here, as in the 2019 text?');
  await fra.locator('.comment-form .post-comment').click();
  await t.until('the proposal on the chair’s page', async () => (await chair.locator('.row[data-label="OP2"] .proposal').count()) === 1);
  await t.until('the comment on the delegate’s page', async () => (await delegate.locator('.row[data-label="OP1"] .comment').count()) === 1);
  // Presence of a page on a loaded machine may lapse and come back (a stalled page's connection is
  // renewed): the checks need a crowded list, five or six, rather than exactly six.
  const crowd = async (page) => (await page.locator('.presence .peer').count()) >= 5;
  await t.until('six here', async () => (await chair.locator('.presence .peer').count()) === 6, 30000).catch(() => t.until('five or six here', () => crowd(chair), 30000));

  await t.check('layout: at 1440×900 and 1280×720 the presence list and the user’s own name are fully visible, every control on screen', async () => {
    for (const [w, hgt] of [[1440, 900], [1280, 720]]) {
      for (const who of ['chair', 'delegate']) {
        const page = p[who];
        await page.setViewportSize({ width: w, height: hgt });
        await page.evaluate(() => window.scrollTo(0, 0));
        // A loaded machine may drop and renew a page's connection (its presence goes and comes back).
        await t.until(`five or six chips on the ${who} page (now: ${await page.locator('.presence .peer').allInnerTexts()})`, () => crowd(page), 30000);
        const shown = await page.evaluate(() => {
          const vw = document.documentElement.clientWidth;
          const inView = (el) => {
            const r = el.getBoundingClientRect();
            return el.checkVisibility() && r.left >= 0 && r.right <= vw && r.top >= 0 && r.bottom <= innerHeight && el.scrollWidth <= el.clientWidth + 1;
          };
          return { peers: [...document.querySelectorAll('.presence .peer')].map((el) => [el.textContent, inView(el)]), me: [document.querySelector('.me').textContent, inView(document.querySelector('.me'))] };
        });
        const hidden = shown.peers.filter(([, ok]) => !ok).map(([x]) => x);
        if (hidden.length) throw new Error(`${w}px, ${who}: presence chips not fully visible: ${hidden.join(', ')}`);
        if (!shown.me[1]) throw new Error(`${w}px, ${who}: the user’s own name is cut off: ${shown.me[0]}`);
        await assertAllReachable(page, `${w}×${hgt} ${who}`);
        const textW = await page.locator('.paragraphs .row[data-label="OP1"] .ptext').evaluate((el) => el.getBoundingClientRect().width);
        if (textW < 500) throw new Error(`${w}px, ${who}: OP1's text is only ${Math.round(textW)} px wide`);
      }
    }
  });

  await t.check('layout: at 390×844 no control is off-screen, no sideways scroll, the text is ≥ 300 px wide, the presence list is a count that opens', async () => {
    for (const who of ['chair', 'secretariat', 'delegate', 'observer']) {
      const page = p[who];
      await page.setViewportSize({ width: 390, height: 844 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await assertAllReachable(page, `390px ${who}, editor`);
      for (const label of ['PP1', 'OP1', 'OP2']) {
        const w = await page.locator(`.paragraphs .row[data-label="${label}"] .ptext`).evaluate((el) => el.getBoundingClientRect().width);
        if (w < 300) throw new Error(`390px ${who}: ${label}'s text is ${Math.round(w)} px wide`);
      }
      const count = page.locator('.presence-count');
      if (!(await count.isVisible())) throw new Error(`390px ${who}: no presence count`);
      await t.until(`five or six on the ${who} page`, () => crowd(page), 30000);
      // The count says how many chips the list holds (the same two reads agree, so no one came or went meanwhile).
      let n = 0;
      await t.until(`the presence count reads “N here” on the ${who} page (now: “${await count.innerText()}”)`, async () => {
        const before = await page.locator('.presence .peer').count();
        const words = (await count.innerText()).trim();
        const after = await page.locator('.presence .peer').count();
        n = before;
        return before === after && words === `${before} here`;
      }, 10000);
      if (await page.locator('.presence .peer').first().isVisible()) throw new Error(`390px ${who}: the presence chips show before the count is opened`);
      await count.click();
      await t.until('the chips shown', async () => (await page.locator('.presence .peer:visible').count()) >= Math.min(n, 5), 10000);
      if ((await count.getAttribute('aria-expanded')) !== 'true') throw new Error('the count does not say it is expanded');
      await assertAllReachable(page, `390px ${who}, presence list open`);
      await page.keyboard.press('Escape');
      await t.until('the chips hidden again', async () => (await page.locator('.presence .peer:visible').count()) === 0);
    }
    // The side panels: the comments under their paragraph, the export menu across the screen, the history above its text.
    const page = chair;
    await page.locator('.row[data-label="OP1"] .comment').scrollIntoViewIfNeeded();
    const [textBox, commentBox] = await Promise.all([
      page.locator('.row[data-label="OP1"] .ptext').boundingBox(),
      page.locator('.row[data-label="OP1"] .comment').boundingBox(),
    ]);
    if (commentBox.y < textBox.y + textBox.height - 1) throw new Error('390px: the comment is not under its paragraph');
    await assertAllReachable(page, '390px chair, comments');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.locator('#toggle-export').click();
    await t.until('export menu open', () => page.locator('#export-list').isVisible());
    await assertAllReachable(page, '390px chair, export menu');
    await page.keyboard.press('Escape');
    await openHistoryWithCompare(t, page);
    await assertAllReachable(page, '390px chair, history and compare');
    await closeHistory(page);
  });

  await t.check('accessibility: axe-core finds no serious or critical violation on the chair’s, secretariat’s, delegate’s and observer’s pages (editor, export menu, history with compare)', async () => {
    let rules = 0;
    for (const who of ['chair', 'secretariat', 'delegate', 'observer']) {
      const page = p[who];
      await page.setViewportSize({ width: 1440, height: 900 });
      await page.evaluate(() => window.scrollTo(0, 0));
      rules = Math.max(rules, await axe(page, `${who} editor`));
      await page.locator('#toggle-export').click();
      await t.until('export menu open', () => page.locator('#export-list').isVisible());
      await axe(page, `${who} export menu`);
      await page.keyboard.press('Escape');
      await openHistoryWithCompare(t, page);
      await axe(page, `${who} history and compare`);
      await closeHistory(page);
    }
    await chair.setViewportSize({ width: 390, height: 844 });
    await axe(chair, 'chair editor at 390 px');
    await chair.setViewportSize({ width: 1440, height: 900 });
    // The paragraphs have names a screen reader speaks.
    const name = await chair.locator('.paragraphs .row[data-label="OP2"] .ptext').getAttribute('aria-label');
    if (!/^OP2, operative paragraph 2, open\b/.test(name ?? '')) throw new Error(`OP2's text box is named “${name}”`);
    const pp = await delegate.locator('.paragraphs .row[data-label="PP1"] .ptext').getAttribute('aria-label');
    if (!/^PP1, preambular paragraph 1\b/.test(pp ?? '')) throw new Error(`PP1's text box is named “${pp}”`);
    console.log(`  axe rules checked (${rulesSeen.size}): ${[...rulesSeen].sort().join(' ')}`);
  });

  await t.check('keyboard: Tab reaches the text, typing lands in it, Shift+Tab reaches its Comment and Propose buttons, Enter opens each form, Esc closes it', async () => {
    const page = delegate;
    await page.setViewportSize({ width: 1440, height: 900 });
    // A keyboard user arriving at the page.
    await page.reload();
    await ready(t, page);
    await page.keyboard.press('Tab');
    const first = await page.evaluate(() => ({ cls: document.activeElement?.className, text: document.activeElement?.textContent }));
    if (first.cls !== 'skip-link') throw new Error(`the first Tab reaches ${first.cls} “${first.text}”, not “Skip to the text”`);
    await page.keyboard.press('Enter');
    const at = await page.evaluate(() => document.activeElement?.closest('.row')?.getAttribute('data-label'));
    if (at !== 'PP1') throw new Error(`Skip to the text focused ${at}`);
    await page.keyboard.press('Control+End');
    await page.keyboard.type(' (typed from the keyboard)', { delay: 10 });
    await t.until('the typing reaches the chair', async () => (await t.textOf(chair, 'PP1')).includes('(typed from the keyboard)'));
    const focusOn = () => page.evaluate(() => {
      const el = document.activeElement;
      const cs = getComputedStyle(el);
      return { tag: el.tagName, cls: el.className, row: el.closest('.row')?.getAttribute('data-label'), ring: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0 };
    });
    for (const [btn, form, field] of [['comment-btn', 'comment-form', 'comment-text'], ['propose-btn', 'propose-form', 'propose-text']]) {
      // Back from the text to its own tools: Shift+Tab until the button (a real <button>, with a visible focus ring).
      let f;
      for (let i = 0; i < 4; i++) {
        await page.keyboard.press('Shift+Tab');
        f = await focusOn();
        if (f.cls.includes(btn)) break;
      }
      if (f.tag !== 'BUTTON' || !f.cls.includes(btn) || f.row !== 'PP1') throw new Error(`Shift+Tab from PP1's text reached ${f.tag}.${f.cls} in ${f.row}, not its ${btn}`);
      if (!f.ring) throw new Error(`the focused ${btn} shows no focus ring`);
      await page.keyboard.press('Enter');
      await t.until(`the ${form} open and focused`, async () => (await page.evaluate((c) => !!document.activeElement?.matches(`textarea.${c}`), field)));
      await page.keyboard.type('kept', { delay: 10 });
      await page.keyboard.press('Escape');
      await t.until(`the ${form} closed`, async () => (await page.locator(`form.${form}`).count()) === 0);
      const back = await focusOn();
      if (back.row !== 'PP1' || !back.cls.includes('ptext')) throw new Error(`after Esc the focus is on ${back.tag}.${back.cls} in ${back.row}, not PP1's text`);
    }
    // The export menu: Enter opens it, the arrow-free Tab reaches its items, Esc closes it and gives the focus back.
    await page.locator('#toggle-export').focus();
    await page.keyboard.press('Enter');
    await t.until('export menu open', () => page.locator('#export-list').isVisible());
    await page.keyboard.press('Tab');
    if (!(await page.evaluate(() => document.activeElement?.classList.contains('export-item')))) throw new Error('Tab from Export does not reach its first item');
    await page.keyboard.press('Escape');
    await t.until('export menu closed', async () => !(await page.locator('#export-list').isVisible()));
    if (!(await page.evaluate(() => document.activeElement?.id === 'toggle-export'))) throw new Error('Esc in the export menu does not give the focus back to Export');
  });

  await t.check('screenshots: each view at 1440×900 and 390×844 (view-<name>-<width>.png)', async () => {
    const page = chair;
    for (const [w, hgt] of [[1440, 900], [390, 844]]) {
      await page.setViewportSize({ width: w, height: hgt });
      await page.evaluate(() => window.scrollTo(0, 0));
      await t.shot(page, `view-editor-${w}`);
      await page.locator('.row[data-label="OP1"] .comment').evaluate((el) => el.scrollIntoView({ block: 'center' }));
      await t.shot(page, `view-comments-${w}`);
      await page.locator('.row[data-label="OP2"] .proposal').evaluate((el) => el.scrollIntoView({ block: 'center' }));
      await t.shot(page, `view-proposals-${w}`);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.locator('#toggle-export').click();
      await t.until('export menu open', () => page.locator('#export-list').isVisible());
      await t.shot(page, `view-export-${w}`);
      await page.keyboard.press('Escape');
      await page.locator('#toggle-compilation').click();
      await t.until('compilation shown', () => page.locator('.compilation-view').isVisible());
      await t.shot(page, `view-compilation-${w}`);
      await page.locator('#toggle-compilation').click();
      await openHistoryWithCompare(t, page);
      await page.evaluate(() => window.scrollTo(0, 0));
      await t.shot(page, `view-history-${w}`);
      await page.locator('.history-main').evaluate((el) => el.scrollIntoView({ block: 'start' }));
      await t.shot(page, `view-compare-${w}`);
      await closeHistory(page);
    }
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await t.shot(page, 'view-editor-1280');
    for (const pg of Object.values(p)) await pg.context().close();
  });
}
