import test from 'node:test';
import assert from 'node:assert/strict';
import { formatAbsolute, formatRelative, parseTime, relativeParts } from '../src/time.js';

const now = new Date('2025-06-01T12:00:00Z');

test('parseTime reads UTC timestamps with and without a zone', () => {
  assert.equal(parseTime('2025-06-01T10:00:00Z').toISOString(), '2025-06-01T10:00:00.000Z');
  assert.equal(parseTime('2025-06-01T10:00:00').toISOString(), '2025-06-01T10:00:00.000Z');
  assert.equal(parseTime('2025-06-01T12:00:00+02:00').toISOString(), '2025-06-01T10:00:00.000Z');
  assert.equal(parseTime('not a date'), null);
  assert.equal(parseTime(null), null);
});

test('relativeParts picks the largest whole unit', () => {
  const ago = (s) => relativeParts(new Date(now.getTime() - s * 1000), now);
  assert.deepEqual(ago(10), { value: 0, unit: 'second' });
  assert.deepEqual(ago(50), { value: -50, unit: 'second' });
  assert.deepEqual(ago(120), { value: -2, unit: 'minute' });
  assert.deepEqual(ago(3 * 3600), { value: -3, unit: 'hour' });
  assert.deepEqual(ago(26 * 3600), { value: -1, unit: 'day' });
  assert.deepEqual(ago(8 * 86400), { value: -1, unit: 'week' });
  assert.deepEqual(ago(65 * 86400), { value: -2, unit: 'month' });
  assert.deepEqual(ago(800 * 86400), { value: -2, unit: 'year' });
});

test('formatRelative speaks each language', () => {
  assert.equal(formatRelative('2025-06-01T11:59:50Z', now, 'en', 'just now'), 'just now');
  assert.equal(formatRelative('2025-06-01T11:55:00Z', now, 'en'), '5 minutes ago');
  assert.equal(formatRelative('2025-05-31T11:00:00Z', now, 'en'), 'yesterday');
  assert.equal(formatRelative('2025-06-01T09:00:00Z', now, 'de'), 'vor 3 Stunden');
  assert.match(formatRelative('2025-06-01T09:00:00Z', now, 'he'), /שעות/);
  assert.equal(formatRelative('garbage', now, 'en'), '');
});

test('formatAbsolute gives a full date', () => {
  assert.match(formatAbsolute('2025-06-01T09:00:00Z', 'en'), /2025/);
  assert.equal(formatAbsolute('', 'en'), '');
});
