// h(): the one way the widget makes elements. Text goes through textContent, never innerHTML.

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'value') el.value = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

let seq = 0;
/** A unique id for label/aria wiring inside the shadow root. */
export function uid(prefix = 'rj') {
  seq += 1;
  return `${prefix}-${seq}`;
}

/**
 * Give a shadow root its stylesheet. Constructed sheets work under a host page's strict CSP
 * (no 'unsafe-inline' needed); a <style> element is the fallback for older browsers.
 */
export function adoptStyles(shadow, css) {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    shadow.adoptedStyleSheets = [sheet];
    return null;
  } catch {
    const style = document.createElement('style');
    style.textContent = css;
    return style;
  }
}
