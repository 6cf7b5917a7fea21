// The timeline as a list (the API orders it: pinned first, then newest first) and the reply box.
import { ApiError, api } from "../api.js";
import { attachmentList, filePicker, problems, uploadAll } from "../attachments.js";
import { clearDraft, loadDraft, saveDraft } from "../drafts.js";
import { announce, h, mount, renderSanitized, time } from "../dom.js";
import { replyDefault } from "../directory.js";
import { actorName } from "./labels.js";
import { mentionPicker } from "./mentions.js";
import { ccPicker, templatePicker } from "./reply-extras.js";

const TYPE_LABELS = { comment: "Reply", note: "Internal note", email: "Email", system: "Change", call: "Call", meeting: "Meeting", task: "Task", chat: "Chat" };

export function renderTimeline(ticket, entries, me) {
  if (!entries.length) return h("p.muted", {}, "Nothing here yet.");
  return h(
    "ol.timeline",
    { "aria-label": "Timeline, newest first" },
    entries.map((entry) => {
      const internal = entry.visibility === "internal";
      return h(
        `li.entry.entry-${entry.type}${internal ? ".internal" : ""}${entry.pinned ? ".pinned" : ""}`,
        { dataset: { entryId: entry.id } },
        h(
          "div.entry-head",
          {},
          h("strong", {}, actorName(entry, ticket, me)),
          " · ",
          h("span", {}, TYPE_LABELS[entry.type] || entry.type),
          entry.pinned ? h("span.badge", {}, "Pinned") : null,
          internal ? h("span.badge.badge-internal", {}, "Internal") : null,
          " · ",
          time(entry.at),
        ),
        entry.subject ? h("div.entry-subject", {}, entry.subject) : null,
        typeFields(entry),
        entry.body ? h("div.entry-body", {}, renderSanitized(entry.body)) : null,
        entry.attachments?.length ? attachmentList(ticket.id, entry.attachments) : null,
      );
    }),
  );
}

const OUTCOME_LABELS = {
  connected: "Connected", busy: "Busy", no_answer: "No answer", left_voicemail: "Left voicemail",
  left_live_message: "Left a message", wrong_number: "Wrong number",
};
const STATE_LABELS = { not_started: "Not started", in_progress: "In progress", completed: "Completed", pending: "Pending", accepted: "Accepted", declined: "Declined", cancelled: "Cancelled" };

/** A logged call, meeting or task's own fields in one line (duration and outcome, start, due date). */
function typeFields(entry) {
  const f = entry.fields || {};
  const parts = [];
  if (entry.type === "call") {
    if (f.duration_seconds !== undefined) parts.push(`${Math.round(f.duration_seconds / 60)} min`);
    if (f.outcome) parts.push(OUTCOME_LABELS[f.outcome] || f.outcome);
    if (f.direction) parts.push(f.direction);
  } else if (entry.type === "meeting") {
    if (f.start_at) parts.push(["Starts ", time(f.start_at)]);
    if (f.end_at) parts.push(["ends ", time(f.end_at)]);
    if (f.state) parts.push(STATE_LABELS[f.state] || f.state);
  } else if (entry.type === "task") {
    if (f.due_at) parts.push(["Due ", time(f.due_at)]);
    if (f.task_status) parts.push(STATE_LABELS[f.task_status] || f.task_status);
  }
  if (!parts.length) return null;
  return h("div.entry-fields", {}, parts.flatMap((p, i) => (i ? [" · ", p] : [p])));
}

/**
 * The reply box: public reply or (staff) internal note, optional status on send; the draft is
 * kept in sessionStorage on every keystroke and cleared only once the API accepted the comment.
 */
export function replyBox({ ticket, me, staff, onSent }) {
  // Staff start with the admin's default reply type (seed 004), unless their draft says otherwise.
  const draft = loadDraft(me.id, ticket.id) || { body: "", visibility: staff ? replyDefault() : "public", status: "" };
  const form = h("form.reply", { "aria-label": "Reply" });
  const textarea = h("textarea#reply-body", { name: "body", rows: 5, required: true });
  textarea.value = draft.body;
  const error = h("p.error#reply-error", { role: "alert" });
  textarea.setAttribute("aria-describedby", "reply-error");
  const picker = filePicker(error);
  const cc = staff ? ccPicker(ticket) : null;
  const mentions = staff ? mentionPicker(textarea, me) : null;
  const chosen = () => [...picker.querySelector("input").files];
  const visibilityRadios = staff
    ? h(
        "fieldset.visibility",
        {},
        h("legend", {}, "Reply type"),
        ["public", "internal"].map((value) =>
          h(
            "label",
            {},
            h("input", { type: "radio", name: "visibility", value, checked: draft.visibility === value }),
            value === "public" ? " Public reply" : " Internal note",
          ),
        ),
      )
    : null;
  const statusSelect = staff
    ? h(
        "select#reply-status",
        { name: "status" },
        h("option", { value: "" }, "Keep status"),
        ["open", "pending", "resolved"].map((s) => h("option", { value: s, selected: draft.status === s }, `Set ${s}`)),
      )
    : null;
  const send = h("button.primary", { type: "submit" }, "Send");
  const current = () => ({
    body: textarea.value,
    visibility: form.querySelector("input[name=visibility]:checked")?.value || "public",
    status: statusSelect?.value || "",
  });
  const paint = () => {
    const internal = current().visibility === "internal";
    form.classList.toggle("internal", internal);
    send.textContent = internal ? "Add note" : "Send reply";
  };
  form.addEventListener("input", () => {
    saveDraft(me.id, ticket.id, current());
    paint();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = current();
    if (!values.body.trim()) {
      error.textContent = "Write something first.";
      return;
    }
    const files = chosen();
    const refused = problems(files);
    if (refused.length) {
      error.textContent = refused.join(" "); // checked before anything is sent or uploaded
      return;
    }
    send.disabled = true;
    error.textContent = "";
    const body = { body: values.body, visibility: values.visibility };
    if (values.status && values.visibility === "public") body.status = values.status;
    const added = (cc?.value() || []).filter((id) => !(ticket.cc || []).includes(id));
    if (added.length && values.visibility === "public") body.cc = added;
    if (mentions?.value().length) body.notify = mentions.value(); // the API refuses it on a public reply
    try {
      const { data: comment } = await api("POST", `/v1/tickets/${encodeURIComponent(ticket.id)}/comments`, { body });
      clearDraft(me.id, ticket.id);
      textarea.value = "";
      mentions?.clear();
      try {
        if (files.length) await uploadAll(ticket.id, comment.id, files);
        picker.querySelector("input").value = "";
      } catch (exc) {
        error.textContent = `The reply is sent, but a file was not attached: ${exc.message}`;
      }
      announce(values.visibility === "internal" ? "Note added" : "Reply sent");
      onSent();
    } catch (exc) {
      // The draft stays: nothing typed is lost on an error.
      const field = exc instanceof ApiError ? exc.fieldErrors[0] : null;
      error.textContent = field ? (field.field === "body" ? field.message : `${field.field}: ${field.message}`) : exc.message;
    } finally {
      send.disabled = false;
    }
  });
  mount(
    form,
    h("label", { for: "reply-body" }, staff ? "Reply or note" : "Your reply"),
    textarea,
    mentions?.element,
    error,
    picker,
    staff ? h("div.reply-extras", {}, ...templatePicker(ticket, textarea, error), cc.element) : null,
    h("div.reply-actions", {}, visibilityRadios, statusSelect ? h("label", { for: "reply-status" }, "Status on send ") : null, statusSelect, send),
  );
  paint();
  return form;
}

export function refreshInto(container, render) {
  return async () => mount(container, await render());
}
