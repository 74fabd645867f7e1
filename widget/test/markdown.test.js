import test from 'node:test';
import assert from 'node:assert/strict';
import { parseInline, parseMarkdown } from '../src/markdown.js';

test('inline emphasis, strong and code become tokens, markup stays text', () => {
  assert.deepEqual(parseInline('a **b** *c* `d` <img src=x onerror=alert(1)>'), [
    { type: 'text', text: 'a ' },
    { type: 'strong', text: 'b' },
    { type: 'text', text: ' ' },
    { type: 'em', text: 'c' },
    { type: 'text', text: ' ' },
    { type: 'code', text: 'd' },
    { type: 'text', text: ' <img src=x onerror=alert(1)>' },
  ]);
});

test('blocks: paragraphs, quotes and fenced code', () => {
  const blocks = parseMarkdown('one\ntwo\n\n> quoted\n\n```\n<b>x</b>\n```\nlast');
  assert.deepEqual(
    blocks.map((b) => [b.type, b.lines]),
    [
      ['p', ['one', 'two']],
      ['quote', ['quoted']],
      ['pre', ['<b>x</b>']],
      ['p', ['last']],
    ],
  );
  assert.deepEqual(parseMarkdown('  \n'), []);
});
