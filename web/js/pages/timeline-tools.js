// The agent's timeline tools: type tabs, text search, deleted entries (to restore), expand /
// collapse all, pin / unpin and delete / restore per entry; logging a call, meeting or task and
// tracking time. The page opens with the timeline it already has; a filter asks the API again.
import { ApiError, api } from "../api.js";
import { announce, h, mount } from "../dom.js";
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
  const state = { type: "", q: "", deleted: false, collapsed: false };
  const error = h("p.error#timeline-error", { role: "alert" });
  const list = h("div.timeline-list");
  const tabs = h("div.tabs", { role: "group", "aria-label": "Entry types" });
  const search = h("input#timeline-q", { type: "search", maxlength: 200 });
  const deleted = h("input#timeline-deleted", { type: "checkbox" });
  const collapse = h("button#timeline-collapse", { type: "button" }, "Collapse all");

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
    const rendered = renderTimeline(ticket, items, me);
    for (const li of rendered.querySelectorAll?.("li.entry") || []) {
      const entry = items.find((e) => e.id === li.dataset.entryId);
      if (entry) li.append(entryActions(entry));
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
    );
  };

  const load = async () => {
    error.textContent = "";
    try {
      const { data } = await api("GET", `${path}/timeline`, { query: { type: state.type, q: state.q, deleted: state.deleted ? "true" : "" } });
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
    h("div.timeline-bar", {}, tabs, searchForm, h("span", {}, deleted, h("label", { for: "timeline-deleted" }, " Deleted entries")), collapse),
    error,
    list,
    logForms({ path, onChange: async () => (onChange ? onChange() : load()) }),
  );
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
