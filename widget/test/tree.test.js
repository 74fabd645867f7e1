import test from 'node:test';
import assert from 'node:assert/strict';
import {
  appendPage,
  collectQuotes,
  countComments,
  findComment,
  insertComment,
  removeComment,
  updateComment,
  walk,
} from '../src/tree.js';

function sample() {
  return [
    { id: 1, parent_id: null, replies: [{ id: 2, parent_id: 1, replies: [{ id: 3, parent_id: 2, replies: [] }] }] },
    { id: 4, parent_id: null, replies: [] },
  ];
}

test('walk visits depth-first with depths', () => {
  const seen = [];
  walk(sample(), (c, depth) => seen.push([c.id, depth]));
  assert.deepEqual(seen, [[1, 0], [2, 1], [3, 2], [4, 0]]);
});

test('findComment and countComments', () => {
  const tree = sample();
  assert.equal(findComment(tree, 3).parent_id, 2);
  assert.equal(findComment(tree, 99), null);
  assert.equal(countComments(tree), 4);
});

test('insertComment places replies under their parent, top-level first or last', () => {
  const tree = sample();
  assert.equal(insertComment(tree, { id: 5, parent_id: 3 }), true);
  assert.deepEqual(findComment(tree, 3).replies.map((c) => c.id), [5]);
  assert.equal(insertComment(tree, { id: 6, parent_id: null }, { atStart: true }), true);
  assert.equal(tree[0].id, 6);
  assert.equal(insertComment(tree, { id: 7, parent_id: null }), true);
  assert.equal(tree.at(-1).id, 7);
  assert.equal(insertComment(tree, { id: 7, parent_id: null }), false, 'no duplicates');
  assert.equal(insertComment(tree, { id: 8, parent_id: 404 }), false, 'unknown parent');
  assert.equal(countComments(tree), 7);
});

test('updateComment merges fields but keeps replies', () => {
  const tree = sample();
  updateComment(tree, 1, { score: 5, replies: [] });
  assert.equal(findComment(tree, 1).score, 5);
  assert.equal(findComment(tree, 1).replies.length, 1);
  assert.equal(updateComment(tree, 42, {}), null);
});

test('removeComment takes the subtree and reports its size', () => {
  const tree = sample();
  assert.equal(removeComment(tree, 2), 2);
  assert.equal(findComment(tree, 3), null);
  assert.equal(countComments(tree), 2);
  assert.equal(removeComment(tree, 42), 0);
});

test('appendPage skips comments already shown', () => {
  const tree = sample();
  assert.equal(appendPage(tree, [{ id: 4, replies: [] }, { id: 9, replies: [] }]), 1);
  assert.deepEqual(tree.map((c) => c.id), [1, 4, 9]);
});

test('collectQuotes groups comments by passage', () => {
  const q = { exact: 'the river', prefix: 'across ', suffix: ' rose' };
  const tree = [
    { id: 1, quote: q, replies: [{ id: 2, quote: { ...q }, replies: [] }] },
    { id: 3, quote: { exact: 'other' }, replies: [] },
    { id: 4, replies: [] },
  ];
  const got = collectQuotes(tree);
  assert.equal(got.length, 2);
  assert.deepEqual(got[0].ids, [1, 2]);
  assert.deepEqual(got[1].ids, [3]);
});
