// Comment counts on listing pages: every <span data-rejoinder-count="/key"> on the page,
// filled by one /counts request per site.

/** Group count elements by site: Map(site -> Map(threadKey -> [elements])). */
export function groupCountTargets(elements, defaultSite) {
  const bySite = new Map();
  for (const el of elements) {
    const key = el.getAttribute('data-rejoinder-count');
    const site = el.getAttribute('data-rejoinder-site') || defaultSite;
    if (!key || !site) continue;
    if (!bySite.has(site)) bySite.set(site, new Map());
    const threads = bySite.get(site);
    if (!threads.has(key)) threads.set(key, []);
    threads.get(key).push(el);
  }
  return bySite;
}

export async function fillCounts(doc, api, defaultSite, t) {
  const bySite = groupCountTargets(doc.querySelectorAll('[data-rejoinder-count]'), defaultSite);
  await Promise.all(
    [...bySite].map(async ([site, threads]) => {
      let data;
      try {
        data = await api.counts(site, [...threads.keys()]);
      } catch {
        return;
      }
      const counts = (data && data.counts) || {};
      for (const [key, els] of threads) {
        const n = Number(counts[key] || 0);
        for (const el of els) {
          el.textContent = el.hasAttribute('data-rejoinder-number') ? String(n) : t('comments', { n });
          el.setAttribute('data-rejoinder-count-value', String(n));
        }
      }
    }),
  );
}
