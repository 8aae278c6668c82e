/**
 * Opens report.html in headless Chromium (Debian's `chromium`) and checks what it renders: the matrix cells,
 * the failing cells highlighted, the inline script having run. Skips loudly when Chromium is absent.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../lib/exec.ts';
import { renderHtml } from './html.ts';
import { fixtureResults } from './testing.ts';

// Debian's chromium; Google Chrome on hosted CI runners
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/google-chrome'].find((p) => existsSync(p));
if (!CHROMIUM) process.stderr.write('\n*** SKIP report.html browser test: no chromium (apt-get install chromium) ***\n\n');

describe.skipIf(!CHROMIUM)('report.html in headless Chromium', () => {
  it('renders the matrix with failing cells highlighted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cif-html-'));
    try {
      const results = await fixtureResults();
      const file = join(dir, 'report.html');
      await writeFile(file, renderHtml(results));
      const profile = join(dir, 'profile');
      const r = await run(
        CHROMIUM!,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
          `--user-data-dir=${profile}`,
          '--virtual-time-budget=2000',
          '--dump-dom',
          `file://${file}`,
        ],
        { timeout: 90_000 },
      );
      const dom = r.stdout;
      // the inline script ran (so this is what a browser shows, not the file as written)
      expect(dom).toMatch(/<body[^>]*data-rendered="yes"/);
      expect(dom).toContain('60 matrix cells, 3 failing cells and rows');
      expect((dom.match(/<td class="cell (pass|fail)"/g) ?? []).length).toBe(60);
      const failing = [...dom.matchAll(/<td class="cell fail" data-id="([^"]+)"/g)].map((m) => m[1]);
      expect(failing.sort()).toEqual([
        'fault-matrix/CachedIfFailed/forbidden/cached',
        'fault-matrix/CachedIfFailed/not-found/cached',
        'fault-matrix/CachedIfFailed/unauthorized/cached',
      ]);
      expect(dom).toMatch(/<div class="headline" id="headline"><span class="good">\d+ passed<\/span>, <span class="bad">3 failed<\/span>/);
      expect(dom).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
