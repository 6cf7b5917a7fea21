// Form controls for the admin pages. Each control keeps a "raw" state (what the inputs hold, kept
// in drafts even when it does not parse) and turns it into the API's value on save. Labels are
// real <label for> elements; errors go in the field's own error line (aria-describedby).
import { h } from "../dom.js";

export class FieldProblem extends Error {}

const changed = (el) => el.dispatchEvent(new Event("input", { bubbles: true }));

/** A control for `field` holding `raw`: {element, raw(), value(), setError(message, subpath)}. */
export function control(field, raw, options) {
  if (field.widget) return field.widget(field, raw);
  const id = `f-${field.key.replace(/[^a-z0-9]+/gi, "-")}`;
  const error = h(`p.error#${id}-error`);
  let element;
  const setError = (message) => {
    error.textContent = message || "";
    for (const input of element.querySelectorAll("input, select, textarea")) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  };
  const describe = { "aria-describedby": `${id}-error${field.help ? ` ${id}-help` : ""}` };
  const help = field.help ? h(`p.muted.help#${id}-help`, {}, field.help) : null;
  const label = h("label", { for: id }, field.label);
  let input;
  let read;
  switch (field.type) {
    case "textarea":
    case "json":
      input = h(`textarea#${id}`, { name: field.key, rows: field.type === "json" ? 6 : 4, ...describe });
      input.value = raw ?? "";
      read = () => input.value;
      break;
    case "select":
      input = h(
        `select#${id}`,
        { name: field.key, ...describe },
        (options || []).map(([value, text]) => h("option", { value, selected: value === (raw ?? "") }, text)),
      );
      if (raw && ![...input.options].some((o) => o.value === raw)) input.append(h("option", { value: raw, selected: true }, raw));
      read = () => input.value;
      break;
    case "checkbox":
      input = h(`input#${id}`, { type: "checkbox", name: field.key, checked: Boolean(raw), ...describe });
      read = () => input.checked;
      element = h("div.field.check", {}, input, label, help, error);
      return wrap(element, read, field, setError);
    case "checks": {
      const chosen = new Set(raw || []);
      // An ordered list (a pipeline's statuses) lists what it holds first, in its order.
      const rank = (value) => (field.ordered && chosen.has(value) ? raw.indexOf(value) : Infinity);
      const ordered = field.ordered ? [...(options || [])].sort((a, b) => rank(a[0]) - rank(b[0])) : options || [];
      const boxes = ordered.map(([value, text], i) => {
        const box = h(`input#${id}-${i}`, { type: "checkbox", value, checked: chosen.has(value) });
        return { box, el: h("span.check", {}, box, h("label", { for: `${id}-${i}` }, text)) };
      });
      read = () => boxes.filter(({ box }) => box.checked).map(({ box }) => box.value);
      element = h("fieldset.field.checks", describe, h("legend", {}, field.label), boxes.map(({ el }) => el), help, error);
      return wrap(element, read, field, setError);
    }
    default:
      input = h(`input#${id}`, {
        type: field.type === "number" ? "number" : field.type === "email" ? "email" : "text",
        name: field.key,
        required: Boolean(field.required),
        placeholder: field.placeholder,
        ...describe,
      });
      input.value = raw ?? "";
      read = () => input.value;
  }
  element = h("div.field", {}, label, input, help, error);
  return wrap(element, read, field, setError);
}

function wrap(element, read, field, setError) {
  return { element, raw: read, value: () => parse(field, read()), setError };
}

/** The API value of a raw state; FieldProblem when it does not parse. */
export function parse(field, raw) {
  if (field.parse) return field.parse(raw);
  switch (field.type) {
    case "number": {
      if (raw === "") return null;
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new FieldProblem("Enter a whole number.");
      return n;
    }
    case "list":
      return raw.split(",").map((s) => s.trim()).filter(Boolean);
    case "json":
      if (!raw.trim()) return undefined;
      try {
        return JSON.parse(raw);
      } catch {
        throw new FieldProblem("This is not valid JSON.");
      }
    case "select":
      return raw === "" ? null : raw;
    default:
      return raw;
  }
}

/** The raw state of an API value (what the inputs show for it). */
export function toRaw(field, value) {
  if (field.toRaw) return field.toRaw(value);
  switch (field.type) {
    case "list":
      return value === undefined ? (field.default ?? "") : (value || []).join(", ");
    case "json":
      return value === undefined || value === null ? "" : JSON.stringify(value, null, 2);
    case "checkbox":
      return value === undefined ? Boolean(field.default) : Boolean(value);
    case "checks":
      return value || field.default || [];
    case "number":
      return value === undefined || value === null ? "" : String(value);
    default:
      return value === undefined || value === null ? (field.default ?? "") : String(value);
  }
}

export { changed };
