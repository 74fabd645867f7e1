import test from 'node:test';
import assert from 'node:assert/strict';

globalThis.location = { href: 'https://news.example/story' };
const { supportLinks } = await import('../src/support.js');
const { groupCountTargets } = await import('../src/counts.js');
const { baseFromScriptSrc } = await import('../src/api.js');

test('support amounts link to the publisher page, unsafe URLs give nothing', () => {
  const links = supportLinks({ text: 'Help', amounts: [5, '10', { label: '€20', amount: 20 }, 50, 100], url: 'https://pay.example/give' });
  assert.equal(links.length, 4);
  assert.deepEqual(links[0], { label: '5', href: 'https://pay.example/give?amount=5' });
  assert.equal(links[2].label, '€20');
  assert.deepEqual(supportLinks({ amounts: [5], url: 'javascript:alert(1)' }), []);
  assert.deepEqual(supportLinks(null), []);
});

test('count targets group by site and thread', () => {
  const el = (key, site) => ({ getAttribute: (n) => (n === 'data-rejoinder-count' ? key : n === 'data-rejoinder-site' ? site : null) });
  const groups = groupCountTargets([el('/a'), el('/b'), el('/a'), el('/c', 'other'), el('')], 'demo');
  assert.deepEqual([...groups.keys()], ['demo', 'other']);
  assert.equal(groups.get('demo').get('/a').length, 2);
  assert.deepEqual([...groups.get('demo').keys()], ['/a', '/b']);
});

test('the API base comes from the script src', () => {
  assert.equal(baseFromScriptSrc('https://comments.example.org/embed.js'), 'https://comments.example.org');
  assert.equal(baseFromScriptSrc('https://x.example/c/embed.js?v=2'), 'https://x.example/c');
  assert.equal(baseFromScriptSrc(''), '');
});
