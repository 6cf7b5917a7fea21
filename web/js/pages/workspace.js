// The agent workspace: views in the sidebar (counts when the API gives them), a ticket list
// with cursor paging and sorting, and j/k/enter to move and open.
import { ApiError, api, page } from "../api.js";
import { cell, h, mount, time } from "../dom.js";
import { navigate } from "../router.js";

const SORTS = [
  ["-last_activity_at", "Last activity, newest first"],
  ["last_activity_at", "Last activity, oldest first"],
  ["-created_at", "Created, newest first"],
  ["created_at", "Created, oldest first"],
];
const ALL = "all";
let keyHandler = null;

async function loadViews() {
  try {
    return (await api("GET", "/v1/views", { query: { counts: "true" } })).data.items;
  } catch (exc) {
    // Counts are newer than views: an API without them refuses the parameter.
    if (exc instanceof ApiError && exc.status === 422) return (await api("GET", "/v1/views")).data.items;
    throw exc;
  }
}

export async function renderWorkspace(main, { view }) {
  document.title = "Workspace · Helpdesk";
  const sidebar = h("nav.sidebar", { "aria-label": "Views" }, h("p", {}, "Loading views…"));
  const list = h("section.ticket-list", { "aria-labelledby": "list-title" });
  mount(main, h("div.workspace", {}, sidebar, list));
  const sort = new URLSearchParams(window.location.hash.split("?")[1] || "").get("sort") || SORTS[0][0];
  loadViews()
    .then((views) => renderSidebar(sidebar, views, view))
    .catch((exc) => mount(sidebar, h("p.error", { role: "alert" }, `Views: ${exc.message}`)));
  renderList(list, view, sort);
}

function renderSidebar(sidebar, views, active) {
  const entry = (id, name, count) =>
    h(
      "li",
      {},
      h(
        "a",
        { href: `#/views/${encodeURIComponent(id)}`, "aria-current": id === active ? "page" : false },
        h("span", {}, name),
        typeof count === "number" ? h("span.count", { "aria-label": `${count} tickets` }, String(count)) : null,
      ),
    );
  mount(sidebar, h("h2", {}, "Views"), h("ul", {}, views.map((v) => entry(v.id, v.name, v.count)), entry(ALL, "All tickets")));
}

async function renderList(section, view, sort) {
  const title = h("h1#list-title", {}, view === ALL ? "All tickets" : "Tickets");
  const sortSelect = h(
    "select#sort",
    { disabled: view !== ALL, title: view !== ALL ? "A view lists in its own order" : undefined },
    SORTS.map(([value, label]) => h("option", { value, selected: value === sort }, label)),
  );
  sortSelect.addEventListener("change", () => navigate(`/views/${ALL}?sort=${sortSelect.value}`));
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const error = h("p.error", { role: "alert" });
  const table = h(
    "table.tickets",
    {},
    h("caption.visually-hidden", {}, "Tickets; j and k move, Enter opens"),
    h("thead", {}, h("tr", {}, ["#", "Subject", "Requester", "Assignee", "Status", "Priority", "Last activity"].map((c) => h("th", { scope: "col" }, c)))),
    body,
  );
  mount(
    section,
    h("div.list-head", {}, title, h("label", { for: "sort" }, "Sort "), sortSelect),
    error,
    h("div.table-wrap", {}, table),
    more,
  );
  const path = view === ALL ? "/v1/tickets" : `/v1/views/${encodeURIComponent(view)}/tickets`;
  const query = view === ALL ? { sort, limit: 25 } : { limit: 25 };
  let cursor = null;
  const load = async () => {
    more.disabled = true;
    try {
      const result = await page(path, { ...query, cursor });
      for (const ticket of result.items) body.append(row(ticket));
      cursor = result.nextCursor;
      more.hidden = !cursor;
      if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 7 }, "No tickets in this view.")));
    } catch (exc) {
      error.textContent = exc.message;
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  await load();
  installKeys(body);
}

function row(ticket) {
  const open = () => navigate(`/tickets/${ticket.id}`);
  return h(
    "tr",
    { tabindex: "-1", dataset: { ticketId: ticket.id }, ondblclick: open },
    cell("#", `#${ticket.number}`),
    cell("Subject", h("a", { href: `#/tickets/${encodeURIComponent(ticket.id)}`, title: `Priority ${ticket.priority}` }, ticket.subject)),
    cell("Requester", ticket.requester_name || "—"),
    cell("Assignee", ticket.assignee_name || "Unassigned"),
    cell("Status", h("span.badge", {}, ticket.status)),
    cell("Priority", ticket.priority),
    cell("Last activity", time(ticket.last_activity_at)),
  );
}

function installKeys(body) {
  if (keyHandler) document.removeEventListener("keydown", keyHandler);
  let index = -1;
  const rows = () => [...body.querySelectorAll("tr[data-ticket-id]")];
  const select = (next) => {
    const all = rows();
    if (!all.length) return;
    index = Math.max(0, Math.min(all.length - 1, next));
    all.forEach((r, i) => r.setAttribute("aria-selected", String(i === index)));
    all[index].focus();
  };
  keyHandler = (event) => {
    if (!body.isConnected) {
      document.removeEventListener("keydown", keyHandler);
      keyHandler = null;
      return;
    }
    if (event.target.closest?.("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "j") select(index + 1);
    else if (event.key === "k") select(index - 1);
    else if (event.key === "Enter" && index >= 0 && event.target.tagName !== "A") {
      navigate(`/tickets/${rows()[index].dataset.ticketId}`);
    } else return;
    event.preventDefault();
  };
  document.addEventListener("keydown", keyHandler);
}
