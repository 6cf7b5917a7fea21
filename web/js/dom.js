// Building DOM without HTML strings: every API string goes in as text (textContent), and the
// API's sanitized comment HTML is re-built node by node from an allow-list (renderSanitized).

/** h("tag#id.class", {attr: value, onclick: fn}, ...children): an element; strings become text nodes. */
export function h(spec, props = {}, ...children) {
  const tag = spec.match(/^[a-z0-9]*/)[0] || "div";
  const el = document.createElement(tag);
  for (const [, sigil, name] of spec.slice(tag.length).matchAll(/([.#])([^.#]+)/g)) {
    if (sigil === "#") el.id = name;
    else el.classList.add(name);
  }
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const ALLOWED = new Set([
  "P", "BR", "B", "STRONG", "I", "EM", "U", "S", "A", "UL", "OL", "LI", "BLOCKQUOTE", "CODE", "PRE",
  "H1", "H2", "H3", "H4", "H5", "H6", "SPAN", "DIV", "HR", "TABLE", "THEAD", "TBODY", "TR", "TH", "TD",
]);

/** The API's sanitized HTML as DOM: parsed inert (DOMParser runs no script), copied through an allow-list. */
export function renderSanitized(html) {
  const fragment = document.createDocumentFragment();
  const parsed = new DOMParser().parseFromString(String(html ?? ""), "text/html");
  copyChildren(parsed.body, fragment);
  return fragment;
}

function copyChildren(from, to) {
  for (const node of from.childNodes) {
    if (node.nodeType === Node.TEXT_NODE) {
      to.append(document.createTextNode(node.textContent));
    } else if (node.nodeType === Node.ELEMENT_NODE) {
      if (!ALLOWED.has(node.tagName)) {
        if (node.tagName !== "SCRIPT" && node.tagName !== "STYLE") copyChildren(node, to);
        continue;
      }
      const copy = document.createElement(node.tagName.toLowerCase());
      if (node.tagName === "A") {
        const href = node.getAttribute("href") || "";
        if (/^(https?:|mailto:)/i.test(href)) copy.setAttribute("href", href);
        copy.setAttribute("rel", "noopener noreferrer nofollow");
      }
      copyChildren(node, copy);
      to.append(copy);
    }
  }
}

/** A table cell that names its column (narrow screens show rows as cards, the label before the value). */
export function cell(label, ...content) {
  return h("td", { dataset: { label } }, ...content);
}

/** A time in the browser's time zone, with the exact instant as a tooltip. */
export function time(iso) {
  if (!iso) return h("span", {}, "—");
  const date = new Date(iso);
  return h("time", { datetime: iso, title: date.toISOString() }, date.toLocaleString());
}

export function announce(message) {
  const region = document.getElementById("status");
  if (region) region.textContent = message;
}
