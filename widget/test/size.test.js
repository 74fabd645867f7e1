// The size budget of the built widget (src/rejoinder/web/static/embed.js), and that it is fresh.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const built = path.join(here, '../../src/rejoinder/web/static/embed.js');
export const BUDGET_GZIP_BYTES = 20 * 1024;

test(`embed.js stays under ${BUDGET_GZIP_BYTES} bytes gzipped`, () => {
  const bytes = gzipSync(readFileSync(built), { level: 9 }).length;
  assert.ok(bytes <= BUDGET_GZIP_BYTES, `embed.js is ${bytes} bytes gzipped, budget ${BUDGET_GZIP_BYTES}`);
});

test('embed.js carries no HTML-sink beyond the sanitised body and no third-party URL', () => {
  const src = readFileSync(built, 'utf8');
  assert.equal((src.match(/\.innerHTML\s*=/g) || []).length, 1, 'one innerHTML: the server-sanitised body');
  assert.doesNotMatch(src, /document\.write|insertAdjacentHTML|outerHTML\s*=/);
  assert.doesNotMatch(src, /https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}/i, 'no third-party origin');
});

test('embed.js is what widget/src builds to (run npm run build)', async (t) => {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    t.skip('esbuild is not installed (npm ci in widget/)');
    return;
  }
  const { options } = await import('../build.mjs');
  const out = await esbuild.build({ ...options, write: false, logLevel: 'silent' });
  const fresh = out.outputFiles[0].text;
  assert.ok(fresh === readFileSync(built, 'utf8'), 'embed.js is stale: run `npm run build` in widget/');
});
