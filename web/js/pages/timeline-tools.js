// The agent's timeline tools: type tabs, text search, deleted entries (to restore), expand /
// collapse all, pin / unpin and delete / restore per entry; logging a call, meeting or task and
// tracking time. The page opens with the timeline it already has; a filter asks the API again.
import { ApiError, api } from "../api.js";
import { announce, h, mount, renderSanitized, time } from "../dom.js";
import { knownName, teams, users } from "../directory.js";
import { actorName } from "./labels.js";
import { renderTimeline } from "./thread.js";

const TABS = [
  ["", "All"], ["comment", "Replies"], ["note", "Notes"], ["email", "Emails"], ["call", "Calls"],
  ["meeting", "Meetings"], ["task", "Tasks"], ["system", "Changes"],
];

const OUTCOMES = [
  ["connected", "Connected"], ["busy", "Busy"], ["no_answer", "No answer"], ["left_voicemail", "Left voicemail"],
  ["left_live_message", "Left a message"], ["wrong_number", "Wrong number"],
];

function problemText(exc) {
  const field = exc instanceof ApiError ? exc.fieldErrors[0] : null;
  return field ? `${field.field}: ${field.message}` : exc.message;
}

export function timelineTools({ ticket, entries, me, path, onChange }) {
  const state = { type: "", q: "", deleted: false, collapsed: false, actor_id: "", team_id: "" };
  const error = h("p.error#timeline-error", { role: "alert" });
  const list = h("div.timeline-list");
  const tabs = h("div.tabs", { role: "group", "aria-label": "Entry types" });
  const search = h("input#timeline-q", { type: "search", maxlength: 200 });
  const deleted = h("input#timeline-deleted", { type: "checkbox" });
  const collapse = h("button#timeline-collapse", { type: "button" }, "Collapse all");
  // Who and which team: the directory is asked on the picker's first focus, not on open.
  const picker = (name, anyone, list) => {
    const select = h(`select#timeline-${name}`, {}, h("option", { value: "" }, anyone));
    select.addEventListener(
      "focus",
      async () => select.append(...(await list()).map((item) => h("option", { value: item.id }, item.name))),
      { once: true },
    );
    select.addEventListener("change", () => {
      state[`${name}_id`] = select.value;
      load();
    });
    return select;
  };
  const actor = picker("actor", "Anyone", users);
  const team = picker("team", "Any team", teams);

  const paintTabs = () =>
    mount(
      tabs,
      TABS.map(([value, label]) => {
        const button = h("button.tab", { type: "button", "aria-pressed": String(state.type === value) }, label);
        button.addEventListener("click", () => {
          state.type = value;
          paintTabs();
          load();
        });
        return button;
      }),
    );

  const draw = (items) => {
    // Authors the ticket does not name get their directory name once a picker has loaded it.
    const named = items.map((e) => (knownName(e.actor_id) ? { ...e, actor_name: knownName(e.actor_id) } : e));
    const rendered = renderTimeline(ticket, named, me);
    for (const li of rendered.querySelectorAll?.("li.entry") || []) {
      const entry = items.find((e) => e.id === li.dataset.entryId);
      if (entry) li.append(entryActions(entry), ...(state.deleted ? [] : [entryThread(entry)]));
    }
    mount(list, rendered);
    list.classList.toggle("collapsed", state.collapsed);
  };

  const act = async (method, suffix, body, message) => {
    error.textContent = "";
    try {
      await api(method, `${path}/activities/${suffix}`, { body });
      announce(message);
      await load();
    } catch (exc) {
      error.textContent = problemText(exc);
    }
  };

  const entryActions = (entry) => {
    // Activity ids are time stamps ("2026-12-01T21:07:06.123456Z-…"): the colons stay as they are.
    const id = encodeURIComponent(entry.id).replaceAll("%3A", ":");
    if (state.deleted) {
      return h("div.entry-actions", {}, h("button.link", { type: "button", onclick: () => act("POST", `${id}/restore`, undefined, "Restored") }, "Restore"));
    }
    return h(
      "div.entry-actions",
      {},
      h("button.link", { type: "button", onclick: () => act("PATCH", id, { pinned: !entry.pinned }, entry.pinned ? "Unpinned" : "Pinned") }, entry.pinned ? "Unpin" : "Pin"),
      " ",
      h("button.link", { type: "button", onclick: () => act("DELETE", id, undefined, "Deleted: tick “Deleted entries” to restore it") }, "Delete"),
      EDITABLE.has(entry.type) && (entry.actor_id === me.id || me.role === "admin")
        ? [" ", h("button.link", { type: "button", "aria-expanded": "false", onclick: (event) => openEdit(event.currentTarget, entry, id) }, "Edit")]
        : null,
    );
  };

  // Comments on an entry: the agents' thread under it (text from the API's sanitized HTML).
  const entryThread = (entry) => {
    const comments = entry.comments || [];
    const textarea = h("textarea", { id: `comment-on-${entry.id}`, rows: 2, maxlength: 2000, required: true });
    const form = h(
      "form.entry-comment",
      { "aria-label": "Comment on this entry" },
      h("label", { for: textarea.id }, "Your comment"),
      textarea,
      h("button", { type: "submit" }, "Comment"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const id = encodeURIComponent(entry.id).replaceAll("%3A", ":");
      await act("POST", `${id}/comments`, { body: textarea.value }, "Comment added");
    });
    return h(
      "details.entry-thread",
      { open: comments.length > 0 },
      h("summary", {}, comments.length ? `Comments (${comments.length})` : "Add a comment"),
      comments.length
        ? h(
            "ol.entry-comments",
            { "aria-label": "Comments on this entry" },
            comments.map((c) =>
              h("li", {}, h("div.entry-head", {}, h("strong", {}, actorName({ ...c, actor_name: knownName(c.actor_id) }, ticket, me)), " · ", time(c.at)), h("div", {}, renderSanitized(c.body))),
            ),
          )
        : null,
      form,
    );
  };

  // Editing a logged call, meeting or task: its subject and its own fields (PATCH, If-Match).
  const openEdit = (button, entry, id) => {
    const li = button.closest("li.entry");
    const open = li.querySelector("form.edit-activity");
    if (open) {
      open.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    button.setAttribute("aria-expanded", "true");
    const subject = h("input", { id: `edit-subject-${entry.id}`, type: "text", maxlength: 250, value: entry.subject || "" });
    const fields = editFields(entry);
    const form = h(
      "form.edit-activity",
      { "aria-label": `Edit this ${entry.type}` },
      h("label", { for: subject.id }, "Subject"),
      subject,
      fields.controls,
      h("button", { type: "submit" }, "Save changes"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      try {
        const body = { ...fields.values() };
        if (subject.value !== (entry.subject || "") && subject.value) body.subject = subject.value;
        await api("PATCH", `${path}/activities/${id}`, { body, ifMatch: entry.version ?? undefined });
        announce("Saved");
        await load();
      } catch (exc) {
        error.textContent = problemText(exc);
      }
    });
    li.append(form);
    subject.focus();
  };

  const load = async () => {
    error.textContent = "";
    try {
      const query = { type: state.type, q: state.q, deleted: state.deleted ? "true" : "", actor_id: state.actor_id, team_id: state.team_id };
      const { data } = await api("GET", `${path}/timeline`, { query });
      draw(data.items);
    } catch (exc) {
      error.textContent = problemText(exc);
    }
  };

  const searchForm = h("form.timeline-search", { role: "search", "aria-label": "Search the timeline" }, h("label", { for: "timeline-q" }, "Search"), search, h("button", { type: "submit" }, "Search"));
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    state.q = search.value.trim();
    load();
  });
  deleted.addEventListener("change", () => {
    state.deleted = deleted.checked;
    load();
  });
  collapse.addEventListener("click", () => {
    state.collapsed = !state.collapsed;
    collapse.textContent = state.collapsed ? "Expand all" : "Collapse all";
    list.classList.toggle("collapsed", state.collapsed);
  });

  paintTabs();
  draw(entries);
  return h(
    "div.timeline-tools",
    {},
    h(
      "div.timeline-bar",
      {},
      tabs,
      searchForm,
      h("span", {}, h("label", { for: "timeline-actor" }, "By "), actor),
      h("span", {}, h("label", { for: "timeline-team" }, "Team "), team),
      h("span", {}, deleted, h("label", { for: "timeline-deleted" }, " Deleted entries")),
      collapse,
    ),
    error,
    list,
    logForms({ path, onChange: async () => (onChange ? onChange() : load()) }),
  );
}

const EDITABLE = new Set(["call", "meeting", "task"]);
const MEETING_STATES = [["pending", "Pending"], ["accepted", "Accepted"], ["declined", "Declined"], ["cancelled", "Cancelled"]];
const TASK_STATUSES = [["not_started", "Not started"], ["in_progress", "In progress"], ["completed", "Completed"]];

/** An ISO instant as the value of a datetime-local input (the browser's time zone). */
function localInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The type's own fields as controls, prefilled; `values()` is what changed, as the API takes it. */
function editFields(entry) {
  const f = entry.fields || {};
  const key = entry.id;
  const controls = [];
  const readers = [];
  const add = (name, label, control, read) => {
    control.id = `edit-${name}-${key}`;
    controls.push(h("label", { for: control.id }, label), control);
    readers.push(() => {
      const value = read(control);
      return value === undefined || value === (f[name] ?? null) ? null : [name, value];
    });
  };
  const choice = (pairs, value) => h("select", {}, pairs.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
  const when = (iso) => h("input", { type: "datetime-local", value: localInput(iso) });
  const instant = (control) => (control.value ? new Date(control.value).toISOString() : undefined);
  const sameInstant = (name) => (control) => {
    const value = instant(control);
    return value && f[name] && new Date(f[name]).getTime() === new Date(value).getTime() ? undefined : value;
  };
  if (entry.type === "call") {
    add("duration_seconds", "Duration (minutes)", h("input", { type: "number", min: 0, max: 1440, value: f.duration_seconds === undefined ? "" : String(Math.round(f.duration_seconds / 60)) }), (c) =>
      c.value === "" || Math.round(Number(c.value) * 60) === f.duration_seconds ? undefined : Math.round(Number(c.value) * 60),
    );
    add("outcome", "Outcome", choice(OUTCOMES, f.outcome), (c) => c.value);
  } else if (entry.type === "meeting") {
    add("start_at", "Starts at", when(f.start_at), sameInstant("start_at"));
    add("end_at", "Ends at", when(f.end_at), sameInstant("end_at"));
    add("state", "State", choice(MEETING_STATES, f.state || "pending"), (c) => (c.value === "pending" && !f.state ? undefined : c.value));
  } else {
    add("due_at", "Due at", when(f.due_at), sameInstant("due_at"));
    add("task_status", "Status", choice(TASK_STATUSES, f.task_status || "not_started"), (c) => (c.value === "not_started" && !f.task_status ? undefined : c.value));
  }
  return { controls, values: () => Object.fromEntries(readers.map((read) => read()).filter(Boolean)) };
}

/** Log a call, meeting or task, and track time: two small forms under the timeline. */
function logForms({ path, onChange }) {
  const error = h("p.error#log-error", { role: "alert" });
  const type = h("select#log-type", {}, ["call", "meeting", "task"].map((t) => h("option", { value: t }, t[0].toUpperCase() + t.slice(1))));
  const subject = h("input#log-subject", { type: "text", maxlength: 250 });
  const body = h("textarea#log-body", { rows: 2 });
  // The fields each type requires (the API answers 422 per missing field otherwise).
  const specific = h("div.log-specific");
  const paintSpecific = () => {
    if (type.value === "call") {
      mount(
        specific,
        h("label", { for: "log-duration" }, "Duration (minutes)"), h("input#log-duration", { type: "number", min: 0, max: 1440, required: true }),
        h("label", { for: "log-outcome" }, "Outcome"),
        h("select#log-outcome", {}, OUTCOMES.map(([v, text]) => h("option", { value: v }, text))),
      );
    } else {
      const label = type.value === "meeting" ? "Starts at" : "Due at";
      mount(specific, h("label", { for: "log-when" }, label), h("input#log-when", { type: "datetime-local", required: true }));
    }
  };
  type.addEventListener("change", paintSpecific);
  paintSpecific();
  const typeFields = () => {
    if (type.value === "call") {
      return { duration_seconds: Math.round(Number(specific.querySelector("#log-duration").value) * 60), outcome: specific.querySelector("#log-outcome").value };
    }
    const when = new Date(specific.querySelector("#log-when").value).toISOString(); // the browser's time zone, sent as UTC
    return type.value === "meeting" ? { start_at: when } : { due_at: when };
  };
  const log = h(
    "form.log-activity",
    { "aria-label": "Log an activity" },
    h("label", { for: "log-type" }, "Log a"), type,
    h("label", { for: "log-subject" }, "Subject"), subject,
    h("label", { for: "log-body" }, "Details"), body,
    specific,
    h("button", { type: "submit" }, "Log activity"),
  );
  log.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const values = { type: type.value, subject: subject.value || undefined, body: body.value || undefined, ...typeFields() };
      await api("POST", `${path}/activities`, { body: values });
      subject.value = "";
      body.value = "";
      announce("Activity logged");
      await onChange();
    } catch (exc) {
      error.textContent = problemText(exc);
    }
  });
  const minutes = h("input#time-minutes", { type: "number", min: 1, max: 1440, required: true });
  const note = h("input#time-note", { type: "text", maxlength: 500 });
  const billable = h("input#time-billable", { type: "checkbox" });
  const track = h(
    "form.track-time",
    { "aria-label": "Track time" },
    h("label", { for: "time-minutes" }, "Minutes spent"), minutes,
    h("label", { for: "time-note" }, "On what"), note,
    h("span", {}, billable, h("label", { for: "time-billable" }, " Billable")),
    h("button", { type: "submit" }, "Add time"),
  );
  track.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await api("POST", `${path}/time-entries`, { body: { minutes: Number(minutes.value), note: note.value, billable: billable.checked } });
      minutes.value = "";
      note.value = "";
      announce("Time added");
      await onChange();
    } catch (exc) {
      error.textContent = problemText(exc);
    }
  });
  return h("section.panel.log-forms", { "aria-label": "Log and track" }, error, log, track);
}
