// One admin collection over its public API path: a list page and an edit/create form.
// Saves send only what changed (PATCH with If-Match); a 412 offers to reload the latest version
// and re-apply the fields this form changed; problem+json errors go next to their field; what is
// typed is kept in sessionStorage per user, collection and item, so it survives a reload.
import { ApiError, api } from "../api.js";
import { announce, cell, h, mount } from "../dom.js";
import { session } from "../session.js";
import { FieldProblem, control, parse, toRaw } from "./fields.js";

const draftKey = (section, id) => `admin-draft:${session.user?.id}:${section.key}:${id}`;

function loadDraft(section, id) {
  try {
    return JSON.parse(sessionStorage.getItem(draftKey(section, id)) || "null");
  } catch {
    return null;
  }
}

const clearDraft = (section, id) => sessionStorage.removeItem(draftKey(section, id));

function get(item, key) {
  return key.split(".").reduce((value, part) => (value == null ? undefined : value[part]), item);
}

/** The list page: a table of the collection (cursor pages of 100) and a link to create one. */
export async function renderList(main, section, notice) {
  document.title = `${section.title} · Admin · Helpdesk`;
  const rows = h("tbody");
  const more = h("div");
  const error = h("p.error", { role: "alert" });
  // What the columns need besides the items (the statuses' pipelines), read once per list page.
  const context = section.context ? section.context().catch(() => ({})) : Promise.resolve({});
  const loadPage = async (cursor) => {
    try {
      const [{ data }, extra] = await Promise.all([api("GET", section.path, { query: section.paged === false ? {} : { limit: 100, cursor } }), context]);
      rows.append(...(data.items || []).map((item) => h("tr", {}, section.columns.map(([label, show], i) => cell(label, i === 0 ? h("a", { href: `#/admin/${section.key}/${encodeURIComponent(item.id)}` }, show(item, extra)) : show(item, extra))))));
      if (!rows.children.length) rows.append(h("tr", {}, h("td", { colspan: section.columns.length }, "None yet.")));
      mount(more, data.next_cursor ? h("button", { type: "button", onclick: () => loadPage(data.next_cursor) }, "Load more") : null);
    } catch (exc) {
      error.textContent = exc.message;
    }
  };
  mount(
    main,
    h("div.list-head", {}, h("h1", {}, section.title), section.creatable === false ? null : h("a.button", { href: `#/admin/${section.key}/new` }, `New ${section.singular}`)),
    notice || null,
    section.intro ? h("p.muted", {}, section.intro) : null,
    error,
    h("div.table-wrap", {}, h("table.admin-list", {}, h("thead", {}, h("tr", {}, section.columns.map(([label]) => h("th", { scope: "col" }, label)))), rows)),
    more,
  );
  await loadPage();
}

/** The form of one item (`id` "new": create). */
export async function renderItem(main, section, id) {
  const creating = id === "new";
  let item = {};
  let version;
  if (!creating) {
    mount(main, h("p", {}, "Loading…"));
    try {
      const response = await api("GET", `${section.path}/${encodeURIComponent(id)}`);
      item = response.data;
      version = Number(response.etag || item.version);
    } catch (exc) {
      mount(main, h("h1", {}, section.title), h("p.error", { role: "alert" }, exc.status === 404 ? `No such ${section.singular}.` : exc.message));
      return;
    }
  }
  const options = {};
  await Promise.all(
    section.fields.filter((f) => typeof f.options === "function").map(async (f) => {
      try {
        options[f.key] = await f.options();
      } catch {
        options[f.key] = [];
      }
    }),
  );
  for (const f of section.fields) if (Array.isArray(f.options)) options[f.key] = f.options;
  const baseline = rawsOf(section, item, creating);
  const draft = loadDraft(section, id);
  renderForm(main, section, { id, creating, item, version, baseline, raws: draft?.raws || baseline, restored: Boolean(draft), options });
}

function rawsOf(section, item, creating) {
  return Object.fromEntries(section.fields.filter((f) => (creating ? !f.patchOnly : !f.createOnly)).map((f) => [f.key, toRaw(f, get(item, f.key))]));
}

function renderForm(main, section, state) {
  const { id, creating, item, baseline, options } = state;
  const locked = !creating && Boolean(section.locked?.(item));
  document.title = `${creating ? `New ${section.singular}` : item.name || id} · ${section.title} · Helpdesk`;
  const fields = section.fields.filter((f) => (creating ? !f.patchOnly : !f.createOnly));
  const controls = fields.map((f) => ({ field: f, control: control(f, state.raws[f.key], options[f.key]) }));
  const formError = h("div.error#form-error", { role: "alert" });
  const notice = h("div", { role: "status" });
  if (state.restored) {
    notice.append(
      h("p.banner", {}, "Your unsaved changes were restored. ",
        h("button.link", { type: "button", onclick: () => { clearDraft(section, id); renderForm(main, section, { ...state, raws: baseline, restored: false }); } }, "Discard them")),
    );
  }
  if (locked) notice.append(h("p.banner", {}, `This ${section.singular} is built in: it cannot be changed or deleted.`));
  if (state.reapplied) notice.append(h("p.banner", {}, "Reloaded the latest version and re-applied your changes: review them and save again."));
  const raws = () => Object.fromEntries(controls.map(({ field, control: c }) => [field.key, c.raw()]));
  const save = h("button.primary", { type: "submit" }, creating ? `Create ${section.singular}` : "Save");
  const form = h(
    "form.admin-form",
    { "aria-label": creating ? `New ${section.singular}` : `Edit ${section.singular}`, novalidate: true },
    controls.map(({ control: c }) => c.element),
    h("div.form-actions", {}, locked ? null : save, h("a", { href: `#/admin/${section.key}` }, locked ? "Back" : "Cancel")),
  );
  if (locked) for (const input of form.querySelectorAll("input, select, textarea")) input.disabled = true;
  form.addEventListener("input", () => sessionStorage.setItem(draftKey(section, id), JSON.stringify({ raws: raws() })));
  form.addEventListener("change", () => sessionStorage.setItem(draftKey(section, id), JSON.stringify({ raws: raws() })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.replaceChildren();
    for (const { control: c } of controls) c.setError("");
    let body;
    try {
      body = buildBody(controls, creating ? null : baseline);
    } catch (exc) {
      if (exc.control) {
        exc.control.setError(exc.message);
        exc.control.element.querySelector("input, select, textarea")?.focus();
        return;
      }
      throw exc;
    }
    if (!creating && !Object.keys(body).length) {
      formError.textContent = "Nothing changed.";
      return;
    }
    save.disabled = true;
    try {
      const response = creating
        ? await api("POST", section.path, { body })
        : await api("PATCH", `${section.path}/${encodeURIComponent(id)}`, { body, ifMatch: state.version });
      clearDraft(section, id);
      announce(creating ? `${section.singular} created` : "Saved");
      const created = creating && section.onCreated ? section.onCreated(response.data) : null;
      if (created) {
        await renderList(main, section, created);
      } else {
        window.location.hash = `#/admin/${section.key}`;
      }
    } catch (exc) {
      save.disabled = false;
      if (!(exc instanceof ApiError)) throw exc;
      if (exc.status === 412) {
        formError.append(
          h("p", {}, `Someone else changed this ${section.singular} meanwhile; nothing was saved. `),
          h("button", { type: "button", onclick: () => reapply(main, section, state, raws()) }, "Reload and re-apply my changes"),
        );
        return;
      }
      showProblem(exc, controls, formError);
    }
  });
  const remove = creating || locked || section.deletable === false ? null : deleteButton(section, id, state.version, formError);
  mount(
    main,
    h("p", {}, h("a", { href: `#/admin/${section.key}` }, `← ${section.title}`)),
    h("h1", {}, creating ? `New ${section.singular}` : h("span", {}, item.name || item.url || id)),
    notice,
    formError,
    form,
    remove,
  );
}

/** The body to send: every field on create, only the changed top-level keys on an edit. */
function buildBody(controls, baseline) {
  const body = {};
  const before = {};
  for (const { field, control: c } of controls) {
    let value;
    try {
      value = c.value();
    } catch (exc) {
      if (exc instanceof FieldProblem) {
        exc.control = c;
        throw exc;
      }
      throw exc;
    }
    set(body, field.key, value, Boolean(baseline));
    if (baseline) set(before, field.key, parseRaw(field, baseline[field.key]), true);
  }
  if (!baseline) return prune(body);
  const changed = {};
  for (const key of Object.keys(body)) {
    if (JSON.stringify(body[key]) !== JSON.stringify(before[key])) changed[key] = body[key];
  }
  return changed;
}

function parseRaw(field, raw) {
  try {
    return parse(field, raw);
  } catch {
    return undefined;
  }
}

function set(body, key, value, keepEmpty) {
  const parts = key.split(".");
  let target = body;
  for (const part of parts.slice(0, -1)) target = target[part] ||= {};
  const last = parts.at(-1);
  if (parts.length > 1 && (value === null || value === undefined || value === "" || (Array.isArray(value) && !value.length))) return;
  if (!keepEmpty && (value === null || value === undefined || value === "")) return;
  target[last] = value;
}

function prune(body) {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined && v !== null && v !== ""));
}

/** problem+json: each error next to the field it names (the longest field key it starts with). */
function showProblem(exc, controls, formError) {
  const unplaced = [];
  let first = null;
  for (const { field, message } of exc.fieldErrors) {
    const match = controls
      .filter(({ field: f }) => field === f.key || field.startsWith(`${f.key}.`) || field.startsWith(`${f.key}[`) || f.key.startsWith(`${field}.`))
      .sort((a, b) => b.field.key.length - a.field.key.length)[0];
    if (match) {
      match.control.setError(message, field.slice(match.field.key.length));
      first ||= match.control;
    } else {
      unplaced.push(`${field}: ${message}`);
    }
  }
  if (!exc.fieldErrors.length || unplaced.length) formError.append(h("p", {}, exc.fieldErrors.length ? unplaced.join("; ") : exc.message));
  first?.element.querySelector("input, select, textarea")?.focus();
}

async function reapply(main, section, state, mine) {
  let fresh;
  try {
    const response = await api("GET", `${section.path}/${encodeURIComponent(state.id)}`);
    fresh = { item: response.data, version: Number(response.etag || response.data.version) };
  } catch (exc) {
    main.querySelector("#form-error").textContent = exc.message;
    return;
  }
  const latest = rawsOf(section, fresh.item, false);
  const merged = {};
  for (const key of Object.keys(latest)) {
    const changedByMe = JSON.stringify(mine[key]) !== JSON.stringify(state.baseline[key]);
    merged[key] = changedByMe ? mine[key] : latest[key];
  }
  renderForm(main, section, { ...state, item: fresh.item, version: fresh.version, baseline: latest, raws: merged, restored: false, reapplied: true });
}

function deleteButton(section, id, version, formError) {
  const wrap = h("div.danger");
  const ask = () =>
    mount(
      wrap,
      h("span", {}, `Delete this ${section.singular}? `),
      h("button.danger", { type: "button", onclick: confirm }, "Yes, delete"),
      " ",
      h("button", { type: "button", onclick: () => mount(wrap, first()) }, "Keep it"),
    );
  const first = () => h("button", { type: "button", onclick: ask }, `Delete ${section.singular}`);
  const confirm = async () => {
    try {
      await api("DELETE", `${section.path}/${encodeURIComponent(id)}`, { ifMatch: version });
      clearDraft(section, id);
      announce(`${section.singular} deleted`);
      window.location.hash = `#/admin/${section.key}`;
    } catch (exc) {
      formError.textContent = exc.message;
    }
  };
  mount(wrap, first());
  return wrap;
}
