// History a delegate can read (issue 15, items 1, 2, 3 and 5): a paragraph's
// own history since a version from its History button; compare between two
// versions downloaded as Word with tracked changes; "Show authors" tinting
// the text by delegation; every export of the Export menu downloading a file
// of its type. On a document of its own, with JPN, FRA and the chair.

import { readFileSync } from 'node:fs';
import { unzipSync, strFromU8 } from 'fflate';
import { PNG } from 'pngjs';

const DOC = 'hist-para';
const NO_JSON = /"op"\s*:/;

/** The files of a .docx (a zip), or an error if it is not one. */
function unzip(bytes) {
  if (bytes[0] !== 0x50 || bytes[1] !== 0x4b) throw new Error(`not a zip (starts with ${JSON.stringify(String.fromCharCode(bytes[0], bytes[1]))})`);
  return unzipSync(new Uint8Array(bytes));
}

/** Saves a download and reads it back. */
async function bytesOf(download) {
  return readFileSync(await download.path());
}

/** Clicks `what` and returns the download it starts. */
async function downloadFrom(page, click) {
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), click()]);
  return d;
}

const hex = ([r, g, b]) => `#${[r, g, b].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
const lum = ([r, g, b]) => {
  const c = [r, g, b].map((v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
};
const contrast = (a, b) => {
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
};

/** The rectangle (page coordinates in the viewport) of the first occurrence of `words` in paragraph `label`'s text. */
async function rectOf(page, label, words) {
  return page.evaluate(
    ({ label, words }) => {
      const el = document.querySelector(`.paragraphs .row[data-label="${label}"] .ptext`);
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const i = n.data.indexOf(words);
        if (i < 0) continue;
        const r = document.createRange();
        r.setStart(n, i);
        r.setEnd(n, i + words.length);
        const rects = [...r.getClientRects()];
        const b = rects[0];
        return { x: b.left, y: b.top, width: b.width, height: b.height };
      }
      return null;
    },
    { label, words },
  );
}

/** What the user sees behind words: the most frequent colour in their box (the background), and the darkest (the text). */
async function coloursAt(page, rect) {
  const clip = { x: Math.round(rect.x) + 1, y: Math.round(rect.y) + 1, width: Math.max(4, Math.round(rect.width) - 2), height: Math.max(4, Math.round(rect.height) - 2) };
  const png = PNG.sync.read(await page.screenshot({ clip }));
  const counts = new Map();
  let dark = [255, 255, 255];
  for (let i = 0; i < png.data.length; i += 4) {
    const px = [png.data[i], png.data[i + 1], png.data[i + 2]];
    const k = hex(px);
    counts.set(k, (counts.get(k) ?? 0) + 1);
    if (lum(px) < lum(dark)) dark = px;
  }
  const [bg] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  const rgb = [1, 3, 5].map((i) => parseInt(bg.slice(i, i + 2), 16));
  return { bg, rgb, text: dark };
}

export default async function (t) {
  const { base, tokens, open, check, until, shot, textOf, sleep } = t;
  await t.createDoc(DOC);
  const api = async (path, init = {}, token = tokens.chair) => {
    const r = await fetch(`${base}/api/docs/${DOC}${path}`, { ...init, headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
    return r.json();
  };
  const name = async (version) => (await api('/versions', { method: 'POST', body: JSON.stringify({ name: version }) })).seq;

  const chair = await open('h-chair', `${base}/?doc=${DOC}&token=${tokens.chair}`);
  const jpn = await open('h-jpn', `${base}/?doc=${DOC}&token=${tokens.jpn}`);
  const fra = await open('h-fra', `${base}/?doc=${DOC}&token=${tokens.fra}`);
  for (const p of [chair, jpn, fra]) await p.waitForSelector('body[data-synced="true"]', { timeout: 15000 });

  /** Types at the end of `label` after deleting `back` characters; waits until the chair's page has it. */
  const edit = async (page, label, back, text) => {
    const el = page.locator(`.paragraphs .row[data-label="${label}"] .ptext`);
    await el.click();
    await page.keyboard.press('Control+End');
    for (let i = 0; i < back; i++) await page.keyboard.press('Backspace');
    await page.keyboard.type(text, { delay: 12 });
    const want = await textOf(page, label);
    await until(`${label} reaches the chair`, async () => (await textOf(chair, label)) === want, 10000);
    return want;
  };

  // Before Rev.1: FRA's early words in OP3. Rev.1. Then JPN replaces OP3's last words, FRA adds some.
  await edit(fra, 'OP3', 0, ' [FRA early]');
  await sleep(600); // the server logs in batches: the early words are in the log before the version
  const rev1 = await name('Rev.1');
  // OP3 ends with " [FRA early]": JPN takes those characters back out and writes its own ending.
  await edit(jpn, 'OP3', ' [FRA early]'.length, ' and Japan rewrites this ending');
  await sleep(300);
  await edit(fra, 'OP3', 0, ' with France agreeing;');

  await check('history: a paragraph\'s History button shows its steps since Rev.1, by name and label, and its redline with who wrote what', async () => {
    await chair.locator('.paragraphs .row[data-label="OP3"] .history-btn').click();
    await until('the paragraph history opens since Rev.1', async () => {
      const title = await chair.locator('.para-history-title').innerText();
      return title === 'OP3: changes since Rev.1';
    }, 10000);
    if ((await chair.locator('#history-filter-since option:checked').innerText()) !== 'Since Rev.1') throw new Error('the since picker does not show Rev.1');
    const steps = await chair.locator('.history-steps > .step').evaluateAll((els) => els.map((e) => ({ seq: Number(e.dataset.seq), text: e.querySelector('.step-line').textContent })));
    if (!steps.length) throw new Error('no steps listed');
    for (const s of steps) {
      if (!(s.seq > rev1)) throw new Error(`a step before Rev.1 (position ${s.seq} ≤ ${rev1}) is listed: ${s.text}`);
      if (!/^Delegate of (Japan|France) · OP3 · /.test(s.text)) throw new Error(`a step not of OP3, or not in names: ${s.text}`);
    }
    const texts = steps.map((s) => s.text).join('\n');
    if (!texts.includes('Delegate of Japan · OP3') || !texts.includes('Delegate of France · OP3')) throw new Error(`the steps since Rev.1:\n${texts}`);
    // The redline of OP3 since Rev.1: FRA's early words struck, JPN's and FRA's new words inserted, each with its writer.
    const redline = chair.locator('.para-history .para-redline');
    await until('the redline is shown', async () => (await redline.locator('ins').count()) > 0, 10000);
    const del = (await redline.locator('del').allInnerTexts()).join(' ');
    const ins = (await redline.locator('ins').allInnerTexts()).join(' ');
    if (!del.includes('[FRA early]')) throw new Error(`struck words: ${JSON.stringify(del)}`);
    if (!ins.includes('Japan rewrites this ending') || !ins.includes('France agreeing')) throw new Error(`inserted words: ${JSON.stringify(ins)}`);
    if (ins.includes('FRA early')) throw new Error('words written before Rev.1 are shown as inserted since Rev.1');
    const byJpn = (await redline.locator('ins.by', { hasText: 'Japan rewrites' }).first().getAttribute('data-who')) ?? '';
    const byFra = (await redline.locator('ins.by', { hasText: 'France' }).first().getAttribute('data-who')) ?? '';
    if (byJpn !== 'Delegate of Japan' || byFra !== 'Delegate of France') throw new Error(`inserted words credited to ${JSON.stringify(byJpn)} and ${JSON.stringify(byFra)}`);
    const whoTags = (await redline.locator('.ins-who').allInnerTexts()).join(' | ');
    if (!whoTags.includes('Delegate of Japan') || !whoTags.includes('Delegate of France')) throw new Error(`the redline names: ${whoTags}`);
    // Who changed it: each step with its own redline.
    await until('each step shows what it changed', async () => {
      const items = await chair.locator('.para-step').evaluateAll((els) => els.map((e) => e.textContent));
      return items.some((x) => x.startsWith('Delegate of Japan') && x.includes('Japan rewrites')) && items.some((x) => x.startsWith('Delegate of France') && x.includes('France agreeing'));
    }, 15000);
    if ((await chair.locator('.para-step', { hasText: 'Japan rewrites' }).locator('del').count()) === 0) throw new Error("JPN's step shows no struck words");
    // Since the start, FRA's early step is there too.
    await chair.locator('#history-filter-since').selectOption('');
    await until('the early step is listed since the start', async () => {
      const seqs = await chair.locator('.history-steps > .step').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
      return seqs.some((s) => s <= rev1);
    });
    await until('the title follows', async () => (await chair.locator('.para-history-title').innerText()) === 'OP3: changes since the start');
    await chair.locator('#history-filter-since').selectOption({ label: 'Since Rev.1' });
    await until('back to Rev.1', async () => (await chair.locator('.para-history-title').innerText()) === 'OP3: changes since Rev.1');
    await until('redline back', async () => (await chair.locator('.para-history .para-redline ins').count()) > 0, 10000);
    const body = await chair.locator('body').innerText();
    if (NO_JSON.test(body)) throw new Error('JSON on the page');
    await shot(chair, 'history-paragraph');
  });

  let rev2;
  await check('compare: Rev.1 to Rev.2 shows moves, status and footnote changes, and downloads as Word with those words tracked', async () => {
    // Before Rev.2: the chair agrees OP1, moves OP5 up, and rewords a footnote.
    await chair.locator('#toggle-history').click(); // back to the draft
    await chair.locator('.paragraphs .row[data-label="OP1"] .status-select').selectOption('agreed');
    await chair.locator('.paragraphs .row[data-label="OP5"] .move-up').click();
    await chair.evaluate(() => {
      const ed = window.__plenary;
      const [, text] = [...ed.roots.footnotes.entries()][0];
      text.insert(text.length, ' Revised footnote words.');
    });
    await sleep(800);
    rev2 = await name('Rev.2');
    // After Rev.2 (must not be in the Rev.1 → Rev.2 file).
    await edit(fra, 'OP2', 0, ' Words after Rev.2.');
    await chair.locator('#toggle-history').click();
    await until('versions listed', async () => (await chair.locator('.compare-from option', { hasText: 'Rev.2' }).count()) >= 1, 10000);
    await chair.locator('.compare-from').selectOption({ label: 'Rev.1' });
    await chair.locator('.compare-to').selectOption({ label: 'Rev.2' });
    await chair.locator('.compare-btn').click();
    const view = chair.locator('.compare-view');
    await until('the comparison is shown', async () => (await view.count()) === 1 && (await view.locator('.change').count()) > 0, 10000);
    const text = await view.innerText();
    if (!/status open → agreed/.test(text)) throw new Error(`no status change in the compare view:\n${text.slice(0, 800)}`);
    if (!/moved from OP\d/.test(text)) throw new Error('no move in the compare view');
    if (!/Footnote \d/.test(text) || !(await view.locator('.change-footnote ins').allInnerTexts()).join(' ').includes('Revised footnote words')) throw new Error('no footnote change in the compare view');
    if (!(await view.locator('ins').allInnerTexts()).join(' ').includes('Japan rewrites')) throw new Error("JPN's words are not underlined in the compare view");
    if (text.includes('Words after Rev.2')) throw new Error('the Rev.1 → Rev.2 comparison shows words written after Rev.2');
    if (NO_JSON.test(await chair.locator('body').innerText())) throw new Error('JSON on the page');
    await shot(chair, 'history-compare-rev1-rev2');
    const d = await downloadFrom(chair, () => chair.locator('.compare-docx').click());
    if (!/\.docx$/.test(d.suggestedFilename())) throw new Error(`saved as ${d.suggestedFilename()}`);
    const files = unzip(await bytesOf(d));
    const xml = strFromU8(files['word/document.xml'] ?? new Uint8Array());
    if (!xml.includes('<w:ins') || !xml.includes('<w:del')) throw new Error('word/document.xml has no tracked insertion or deletion');
    const insText = [...xml.matchAll(/<w:ins\b[\s\S]*?<\/w:ins>/g)].map((m) => m[0].replace(/<[^>]+>/g, '')).join(' ');
    const delText = [...xml.matchAll(/<w:delText[^>]*>([^<]*)<\/w:delText>/g)].map((m) => m[1]).join(' ');
    if (!insText.includes('Japan rewrites this ending')) throw new Error(`tracked insertions: ${insText.slice(0, 400)}`);
    if (!delText.includes('[FRA early]')) throw new Error(`tracked deletions: ${delText.slice(0, 400)}`);
    if (xml.includes('Words after Rev.2')) throw new Error('the Rev.1 → Rev.2 file has words written after Rev.2');
    console.log(`  compare .docx: ${d.suggestedFilename()}`);
    await chair.locator('#toggle-history').click();
  });

  await check('attribution: "Show authors" tints JPN\'s and FRA\'s words differently, names the writer on hover, follows typing, and leaves no tint when off', async () => {
    await chair.locator('.paragraphs .row[data-label="OP3"]').scrollIntoViewIfNeeded();
    const plain = await coloursAt(chair, await rectOf(chair, 'OP3', 'Japan rewrites'));
    await chair.locator('#toggle-authors').click();
    await until('the legend lists both delegations', async () => {
      const keys = await chair.locator('#authors-legend .author-key').allInnerTexts();
      return keys.includes('Delegation of Japan') && keys.includes('Delegation of France');
    }, 10000);
    await chair.locator('.paragraphs .row[data-label="OP3"]').scrollIntoViewIfNeeded();
    await sleep(200);
    const j = await coloursAt(chair, await rectOf(chair, 'OP3', 'Japan rewrites'));
    const f = await coloursAt(chair, await rectOf(chair, 'OP3', 'France agreeing'));
    if (j.bg === plain.bg || f.bg === plain.bg) throw new Error(`not tinted: JPN ${j.bg}, FRA ${f.bg}, page ${plain.bg}`);
    if (j.bg === f.bg) throw new Error(`JPN and FRA have the same tint ${j.bg}`);
    for (const [who, c] of [['JPN', j], ['FRA', f]]) {
      const ratio = contrast(c.rgb, c.text);
      if (ratio < 4.5) throw new Error(`${who}'s words: contrast ${ratio.toFixed(2)} (text ${hex(c.text)} on ${c.bg})`);
    }
    // The legend's swatches are the tints of the text.
    const swatch = await chair.locator('#authors-legend .author-key', { hasText: 'Delegation of Japan' }).locator('.author-swatch').evaluate((el) => getComputedStyle(el).backgroundColor);
    const [r, g, b] = swatch.match(/\d+/g).map(Number);
    if (hex([r, g, b]) !== j.bg) throw new Error(`the legend shows Japan as ${hex([r, g, b])}, the text as ${j.bg}`);
    // Hover: who and when.
    const rj = await rectOf(chair, 'OP3', 'Japan rewrites');
    await chair.mouse.move(rj.x + rj.width / 2, rj.y + rj.height / 2);
    await until('the tooltip names the delegate', async () => {
      const tip = chair.locator('#author-tip');
      return (await tip.isVisible()) && /^Delegate of Japan .*· \d{1,2}:\d{2}/.test(await tip.innerText());
    });
    const rf = await rectOf(chair, 'OP3', 'France agreeing');
    await chair.mouse.move(rf.x + rf.width / 2, rf.y + rf.height / 2);
    await until('…and FRA\'s words name FRA', async () => /^Delegate of France/.test(await chair.locator('#author-tip').innerText()));
    await shot(chair, 'authors-on');
    // Typing goes on: JPN's new words get JPN's tint on the chair's page.
    await edit(jpn, 'OP4', 0, ' Japan adds live words');
    await until('the new words are tinted as JPN', async () => {
      const r2 = await rectOf(chair, 'OP4', 'adds live');
      return r2 && (await coloursAt(chair, r2)).bg === j.bg;
    }, 12000);
    // Off: no tint, no legend.
    await chair.mouse.move(5, 300);
    await chair.locator('#toggle-authors').click();
    await sleep(150);
    const after = await coloursAt(chair, await rectOf(chair, 'OP3', 'Japan rewrites'));
    if (after.bg !== plain.bg) throw new Error(`still tinted after turning it off: ${after.bg}`);
    if (await chair.locator('#authors-legend').isVisible()) throw new Error('the legend stays');
    if ((await chair.evaluate(() => CSS.highlights.size)) !== 0) throw new Error('highlights left registered');
  });

  await check('export menu: Word, Akoma Ntoso, text, Markdown, HTML and the compilation text each download a file of their type, named after the document and its version', async () => {
    // An open proposal for the compilation text.
    await jpn.locator('.paragraphs .row[data-label="OP6"] .propose-btn').click();
    const form = jpn.locator('.paragraphs .row[data-label="OP6"] .propose-form');
    await form.locator('textarea').fill('Requests the Secretariat to report on this alternative wording;');
    await form.locator('.submit-proposal').click();
    await until('the chair sees the proposal', async () => (await chair.locator('.paragraphs .row[data-label="OP6"] .proposal[data-delegation="JPN"]').count()) === 1);
    await sleep(500);
    const rev3 = 'Rev.3';
    await name(rev3);
    await sleep(300);
    const op1 = (await textOf(chair, 'OP1')).split(/\s+/).slice(1, 9).join(' '); // past the italic opening
    const title = 'Reducing reoffending through rehabilitation and reintegration';
    const get = async (sel) => {
      await chair.locator('#toggle-export').click();
      const d = await downloadFrom(chair, () => chair.locator(sel).click());
      return { name: d.suggestedFilename(), bytes: await bytesOf(d) };
    };
    const docx = await get('.export-item[data-format="docx"]');
    if (docx.name !== `${DOC}-Rev.3.docx`) throw new Error(`Word saved as ${docx.name}`);
    const docXml = strFromU8(unzip(docx.bytes)['word/document.xml'] ?? new Uint8Array());
    if (!docXml.includes(title)) throw new Error('the .docx has no title');
    const akn = await get('.export-item[data-format="akn"]');
    if (!/\.xml$/.test(akn.name)) throw new Error(`AKN saved as ${akn.name}`);
    const root = await chair.evaluate((x) => {
      const d = new DOMParser().parseFromString(x, 'application/xml');
      return d.querySelector('parsererror') ? `parse error: ${d.querySelector('parsererror').textContent}` : d.documentElement.localName;
    }, akn.bytes.toString('utf8'));
    if (root !== 'akomaNtoso') throw new Error(`AKN root: ${root}`);
    for (const [fmt, ext] of [['text', 'txt'], ['markdown', 'md']]) {
      const x = await get(`.export-item[data-format="${fmt}"]`);
      if (x.name !== `${DOC}-Rev.3.${ext}`) throw new Error(`${fmt} saved as ${x.name}`);
      const s = x.bytes.toString('utf8');
      if (!s.includes(op1)) throw new Error(`the ${fmt} file has no OP1 text (${op1})`);
    }
    const html = await get('.export-item[data-format="html"]');
    const hs = html.bytes.toString('utf8');
    if (!/\.html$/.test(html.name) || !hs.includes('<html') || !hs.includes(title)) throw new Error(`HTML: ${html.name}, ${hs.slice(0, 120)}`);
    const comp = await get('.export-item[data-view="compilation-text"]');
    if (comp.name !== `${DOC}-Rev.3-compilation.txt`) throw new Error(`compilation saved as ${comp.name}`);
    const cs = comp.bytes.toString('utf8');
    if (!/\[JPN[^\]]*:[^\]]*alternative wording[^\]]*\]/.test(cs)) throw new Error(`no bracketed alternative in the compilation text:\n${cs.slice(0, 600)}`);
    // After a change, the name says so.
    await edit(fra, 'OP2', 0, ' One more.');
    const later = await get('.export-item[data-format="text"]');
    if (later.name !== `${DOC}-after-Rev.3.txt`) throw new Error(`a changed text saved as ${later.name}`);
  });

  for (const p of [chair, jpn, fra]) await p.context().close();
}
