import test from 'node:test';
import assert from 'node:assert/strict';
import { locate, makeSelector, normalize } from '../src/quote.js';

const text = 'The tide came in. The tide went out. The tide came in again before dawn.';

test('makeSelector trims the passage and keeps context either side', () => {
  const start = text.indexOf(' tide went');
  const sel = makeSelector(text, start, start + ' tide went out. '.length, 10);
  assert.deepEqual(sel, { exact: 'tide went out.', prefix: 'e in. The ', suffix: ' The tide ' });
});

test('locate prefers the occurrence whose context matches', () => {
  const second = text.lastIndexOf('The tide came in');
  const sel = makeSelector(text, second, second + 'The tide came in'.length);
  assert.deepEqual(locate(text, sel), { start: second, end: second + 16 });
  const first = makeSelector(text, 0, 16);
  assert.deepEqual(locate(text, first), { start: 0, end: 16 });
  assert.equal(locate(text, { exact: 'absent' }), null);
  assert.equal(locate(text, null), null);
});

test('normalize collapses whitespace', () => {
  assert.equal(normalize('a \n\t b'), 'a b');
});
