// Language choice and string lookup; the string tables are bundled (they are small).
import en from './en.js';
import de from './de.js';
import he from './he.js';

export const LANGUAGES = { en, de, he };
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const RTL = new Set(['he', 'ar', 'fa', 'ur']);

/** The supported language for data-lang, else <html lang>, else English ("de-AT" -> "de"). */
export function pickLanguage(...candidates) {
  for (const raw of candidates) {
    if (!raw) continue;
    const base = String(raw).trim().toLowerCase().split(/[-_]/)[0];
    if (base === 'iw') return 'he';
    if (has(LANGUAGES, base)) return base;
  }
  return 'en';
}

/** "rtl" for right-to-left languages. */
export function direction(lang) {
  return RTL.has(lang) ? 'rtl' : 'ltr';
}

function fill(template, vars) {
  return template.replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
}

/** t(key, vars): the string in lang (English when missing); plural forms pick by vars.n. */
export function translator(lang) {
  const table = LANGUAGES[lang] || en;
  let rules = null;
  try {
    rules = new Intl.PluralRules(lang);
  } catch {
    rules = null;
  }
  return function t(key, vars) {
    let s = has(table, key) ? table[key] : en[key];
    if (s === undefined) return key;
    if (typeof s === 'object') {
      const n = vars && typeof vars.n === 'number' ? vars.n : 0;
      const cat = rules ? rules.select(n) : n === 1 ? 'one' : 'other';
      s = s[cat] !== undefined ? s[cat] : s.other;
    }
    return fill(s, vars);
  };
}
