// Builds the editor into a directory (default dist/): index.html, app.js,
// app.css. `--check` builds into a temporary directory and fails if the
// committed dist/ differs, so CI proves the committed bundle is the sources'.
import * as esbuild from 'esbuild';
import { mkdtempSync, mkdirSync, copyFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes('--check');
const out = check ? mkdtempSync(join(tmpdir(), 'plenary-web-')) : join(here, process.argv[2] ?? 'dist');

mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, 'src/main.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  charset: 'utf8',
  outfile: join(out, 'app.js'),
  logLevel: 'warning',
});
copyFileSync(join(here, 'src/styles.css'), join(out, 'app.css'));
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));

if (check) {
  const committed = join(here, 'dist');
  const names = (d) => readdirSync(d).sort();
  let bad = [];
  const a = names(out);
  const b = (() => { try { return names(committed); } catch { return []; } })();
  for (const n of new Set([...a, ...b])) {
    let same = false;
    try { same = readFileSync(join(out, n)).equals(readFileSync(join(committed, n))); } catch { same = false; }
    if (!same) bad.push(n);
  }
  rmSync(out, { recursive: true, force: true });
  if (bad.length) {
    console.error(`web/dist is stale (differs in: ${bad.join(', ')}): run \`npm ci && npm run build\` in web/ and commit web/dist`);
    process.exit(1);
  }
  console.log('web/dist matches the sources');
}
