import test from 'node:test';
import assert from 'node:assert/strict';
import { LANGUAGES, direction, pickLanguage, translator } from '../src/i18n/index.js';

const en = LANGUAGES.en;

test('every language has every English key, with the same placeholders', () => {
  for (const [lang, table] of Object.entries(LANGUAGES)) {
    for (const [key, value] of Object.entries(en)) {
      assert.ok(key in table, `${lang} lacks "${key}"`);
      const theirs = table[key];
      assert.equal(typeof theirs, typeof value, `${lang}.${key} has the wrong kind`);
      if (typeof value === 'object') {
        assert.ok(typeof theirs.other === 'string', `${lang}.${key} lacks the "other" plural form`);
      } else {
        const need = (value.match(/\{\w+\}/g) || []).sort();
        const got = (theirs.match(/\{\w+\}/g) || []).sort();
        assert.deepEqual(got, need, `${lang}.${key} placeholders`);
      }
    }
    for (const key of Object.keys(table)) assert.ok(key in en, `${lang} has a stray key "${key}"`);
  }
});

test('there is a right-to-left language and German', () => {
  assert.ok(Object.keys(LANGUAGES).some((l) => direction(l) === 'rtl'));
  assert.ok('de' in LANGUAGES);
  assert.equal(direction('en'), 'ltr');
});

test('pickLanguage takes data-lang, then <html lang>, then English', () => {
  assert.equal(pickLanguage('de', 'en'), 'de');
  assert.equal(pickLanguage(undefined, 'de-AT'), 'de');
  assert.equal(pickLanguage('', 'he-IL'), 'he');
  assert.equal(pickLanguage('iw'), 'he');
  assert.equal(pickLanguage('xx', 'fr'), 'en');
  assert.equal(pickLanguage(), 'en');
});

test('translator fills placeholders and picks plural forms', () => {
  const t = translator('en');
  assert.equal(t('comments', { n: 1 }), '1 Comment');
  assert.equal(t('comments', { n: 0 }), '0 Comments');
  assert.equal(t('comments', { n: 12 }), '12 Comments');
  assert.equal(t('replyTo', { name: 'Ada' }), 'Reply to Ada');
  assert.equal(t('no-such-key'), 'no-such-key');
  assert.equal(translator('de')('comments', { n: 2 }), '2 Kommentare');
  assert.equal(translator('he')('comments', { n: 1 }), 'תגובה אחת');
  assert.equal(translator('he')('comments', { n: 5 }), '5 תגובות');
});
