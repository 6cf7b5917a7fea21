// The agent's ticket page: properties (inline edit with If-Match; a 412 offers a reload), the
// timeline and the reply box. Opening it costs three requests: ticket, timeline, presence.
import { ApiError, api } from "../api.js";
import { announce, h, mount, renderSanitized, time } from "../dom.js";
import { knownName, users } from "../directory.js";
import { session } from "../session.js";
import { PRIORITIES, STATUSES } from "./labels.js";
import { badges, escalationPanel, followButton, heartbeat, presenceBar, slaPanel } from "./ticket-panels.js";
import { relatedPanel } from "./related-panel.js";
import { replyBox } from "./thread.js";
import { timelineTools } from "./timeline-tools.js";

export async function renderTicket(main, { id }) {
  mount(main, h("p", {}, "Loading ticket…"));
  const path = `/v1/tickets/${encodeURIComponent(id)}`;
  let ticket;
  let entries;
  try {
    const [ticketResponse, timelineResponse] = await Promise.all([api("GET", path), api("GET", `${path}/timeline`)]);
    ticket = ticketResponse.data;
    ticket.version = Number(ticketResponse.etag || ticket.version);
    entries = timelineResponse.data.items;
  } catch (exc) {
    mount(main, h("h1", {}, "Ticket"), h("p.error", { role: "alert" }, exc.status === 404 ? "No such ticket." : exc.message));
    return;
  }
  // Presence: who else has this ticket open (fire and forget; an API without it changes nothing).
  api("PUT", `${path}/presence`).catch(() => {});
  document.title = `#${ticket.number} ${ticket.subject} · Helpdesk`;
  const me = session.user;
  const properties = h("aside.properties", { "aria-label": "Properties" });
  const timeline = h("section.timeline-wrap", { "aria-label": "Timeline" });
  const panels = h("div.panels");
  const paintPanels = () => mount(panels, slaPanel(ticket), escalationPanel(ticket, { onChange: () => {} }), relatedPanel(ticket, path, refresh));
  const reloadAll = () => renderTicket(main, { id });
  const refresh = async () => {
    const [t, tl] = await Promise.all([api("GET", path), api("GET", `${path}/timeline`)]);
    ticket = t.data;
    ticket.version = Number(t.etag || ticket.version);
    renderProperties(properties, ticket, reloadAll, path);
    paintPanels();
    mount(timeline, h("h2", {}, "Timeline"), timelineTools({ ticket, entries: tl.data.items, me, path, onChange: refresh }));
  };
  paintPanels();
  renderProperties(properties, ticket, reloadAll, path);
  mount(timeline, h("h2", {}, "Timeline"), timelineTools({ ticket, entries, me, path, onChange: refresh }));
  installReplyKey(timeline);
  heartbeat(timeline, path);
  mount(
    main,
    h("p", {}, h("a", { href: "#/views/mine-open" }, "← Workspace")),
    h("h1", {}, `#${ticket.number} `, h("span.subject", {}, ticket.subject)),
    h("div.ticket-bar", {}, presenceBar(ticket), ...badges(ticket), followButton(ticket, me, path)),
    h(
      "div.ticket-page",
      {},
      h("div.side", {}, properties, panels),
      h(
        "div.conversation",
        {},
        h("section.description", { "aria-label": "Description" }, renderSanitized(ticket.description)),
        replyBox({ ticket, me, staff: true, onSent: refresh }),
        timeline,
      ),
    ),
  );
}

let replyKey = null;

/** "r" (outside a field) moves to the reply box; the listener goes with the page. */
function installReplyKey(pageElement) {
  if (replyKey) document.removeEventListener("keydown", replyKey);
  replyKey = (event) => {
    if (!pageElement.isConnected) {
      document.removeEventListener("keydown", replyKey);
      replyKey = null;
      return;
    }
    if (event.key !== "r" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.("input, textarea, select")) return;
    event.preventDefault();
    document.getElementById("reply-body")?.focus();
  };
  document.addEventListener("keydown", replyKey);
}

/** After a 412: true (and `ticket.version` the latest) when no property `change` sets was changed meanwhile. */
async function untouched(ticket, change, path) {
  try {
    const { data, etag } = await api("GET", path);
    if (Object.keys(change).some((key) => (data[key] ?? null) !== (ticket[key] ?? null))) return false;
    ticket.version = Number(etag || data.version);
    return true;
  } catch {
    return false;
  }
}

function renderProperties(panel, ticket, reload, path) {
  const error = h("p.error#properties-error", { role: "alert" });
  const save = async (change, control, again = false) => {
    error.replaceChildren();
    control.disabled = true;
    try {
      const { data, etag } = await api("PATCH", path, { body: change, ifMatch: ticket.version });
      Object.assign(ticket, data);
      ticket.version = Number(etag || data.version);
      announce("Saved");
      renderProperties(panel, ticket, reload, path);
    } catch (exc) {
      // The version also counts writes no one typed here (an escalation and its stages, an SLA
      // breach): if what this change sets still holds what the panel showed, send it again once.
      if (exc instanceof ApiError && exc.status === 412 && !again && (await untouched(ticket, change, path))) {
        await save(change, control, true);
        return;
      }
      if (exc instanceof ApiError && exc.status === 412) {
        error.append("Someone else changed this ticket meanwhile. ", h("button", { type: "button", onclick: reload }, "Reload ticket"));
      } else {
        const field = exc instanceof ApiError ? exc.fieldErrors[0] : null;
        error.textContent = field ? `${field.field}: ${field.message}` : exc.message;
      }
      control.disabled = false;
    }
  };
  const select = (name, label, options, value) => {
    const control = h(
      `select#prop-${name}`,
      { name },
      options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
    );
    control.addEventListener("change", () => save({ [name]: control.value || null }, control));
    return [h("label", { for: `prop-${name}` }, label), h("span.prop-control", {}, control, historyButton(name, label))];
  };
  // Per-property history: a property's "History" button lists its changes (GET …/history?property=).
  const history = h("section.prop-history#prop-history", { "aria-label": "Property history", hidden: true });
  const historyButton = (name, label) =>
    h(
      "button.link",
      { type: "button", "aria-controls": "prop-history", onclick: () => showHistory(history, path, name, label, ticket) },
      h("span.visually-hidden", {}, `${label} `), // named by its text, so the field's label stays the field's alone
      "History",
    );
  const statuses = STATUSES.includes(ticket.status) ? STATUSES : [...STATUSES, ticket.status];
  const assignee = h("select#prop-assignee_id", { name: "assignee_id" }, h("option", { value: ticket.assignee_id || "" }, ticket.assignee_name || "Unassigned"));
  // The agents are listed only when someone wants to reassign: not one of the page's three requests.
  assignee.addEventListener("focus", () => loadAgents(assignee, ticket), { once: true });
  assignee.addEventListener("change", () => save({ assignee_id: assignee.value || null }, assignee));
  mount(
    panel,
    h("h2", {}, "Properties"),
    error,
    h(
      "div.props",
      {},
      ...select("status", "Status", statuses.map((s) => [s, s]), ticket.status),
      ...select("priority", "Priority", PRIORITIES.map((p) => [p, p]), ticket.priority),
      h("label", { for: "prop-assignee_id" }, "Assignee"),
      h("span.prop-control", {}, assignee, historyButton("assignee_id", "Assignee")),
    ),
    history,
    h(
      "dl.facts",
      {},
      h("dt", {}, "Requester"), h("dd", {}, ticket.requester_name || "—"),
      h("dt", {}, "Type"), h("dd", {}, ticket.type),
      h("dt", {}, "Channel"), h("dd", {}, ticket.channel),
      h("dt", {}, "Created"), h("dd", {}, time(ticket.created_at)),
      h("dt", {}, "Last activity"), h("dd", {}, time(ticket.last_activity_at)),
      h("dt", {}, "Tags"), h("dd", {}, (ticket.tags || []).join(", ") || "—", " ", historyButton("tags", "Tags")),
      h("dt", {}, "Time spent"), h("dd", {}, `${ticket.time_spent_minutes || 0} min`),
    ),
  );
}

async function loadAgents(control, ticket) {
  try {
    const agents = (await users()).filter((u) => u.role !== "customer" && u.id !== ticket.assignee_id);
    if (ticket.assignee_id) control.append(h("option", { value: "" }, "Unassigned"));
    control.append(...agents.map((u) => h("option", { value: u.id }, u.name)));
  } catch {
    // Not allowed to list users: the current assignee stays the only choice.
  }
}

/** A property's changes, newest first, with who made them (names from the directory). */
async function showHistory(section, path, name, label, ticket) {
  section.hidden = false;
  mount(section, h("h3", {}, `${label} history`), h("p.muted", {}, "Loading…"));
  try {
    const [{ data }] = await Promise.all([api("GET", `${path}/history`, { query: { property: name } }), users()]);
    const shown = (value) => {
      if (value === null || value === undefined || value === "") return "—";
      if (Array.isArray(value)) return value.join(", ") || "—";
      if (name === "assignee_id") return value === ticket.assignee_id ? ticket.assignee_name || value : knownName(value) || value;
      return String(value);
    };
    const who = (id) => (id === session.user?.id ? "You" : knownName(id) || (id?.startsWith("automation:") ? "Automation" : id === "system" ? "System" : "Support"));
    mount(
      section,
      h("h3", {}, `${label} history`),
      data.items.length
        ? h(
            "ol.history",
            { "aria-label": `${label} changes` },
            data.items.map((c) => h("li", {}, h("span", {}, `${shown(c.old)} → ${shown(c.new)}`), h("span.muted", {}, ` · ${who(c.actor_id)} · `), time(c.at))),
          )
        : h("p.muted", {}, "No changes yet."),
      h("button.link", { type: "button", onclick: () => (section.hidden = true) }, "Close history"),
    );
  } catch (exc) {
    mount(section, h("h3", {}, `${label} history`), h("p.error", { role: "alert" }, exc.message));
  }
}
