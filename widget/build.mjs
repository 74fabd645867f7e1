// Bundle widget/src/main.js into one minified file, src/rejoinder/web/static/embed.js.
// Usage: node build.mjs [--watch]
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const options = {
  entryPoints: [path.join(here, 'src/main.js')],
  outfile: path.join(here, '../src/rejoinder/web/static/embed.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  legalComments: 'none',
  banner: { js: '/*! Rejoinder embed widget (AGPL-3.0-or-later); source: widget/src */' },
  logLevel: 'info',
};

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain && process.argv.includes('--watch')) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else if (isMain) {
  await esbuild.build(options);
}
