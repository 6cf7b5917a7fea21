// The customer portal's "My tickets" (seed 002's columns); org admins switch to their organization's.
import { page } from "../api.js";
import { cell, h, mount, time } from "../dom.js";
import { navigate } from "../router.js";
import { session } from "../session.js";
import { statusLabel } from "./labels.js";

export async function renderPortal(main) {
  document.title = "My tickets · Helpdesk";
  const scope = new URLSearchParams(window.location.hash.split("?")[1] || "").get("scope") === "organization" ? "organization" : "mine";
  const organization = scope === "organization";
  const body = h("tbody");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const error = h("p.error", { role: "alert" });
  const columns = ["ID", ...(organization ? ["Requester"] : []), "Subject", "Created", "Last activity", "Type", "Status"];
  let switcher = null;
  if (session.user.orgAdmin) {
    const control = h(
      "select#scope",
      {},
      h("option", { value: "mine", selected: !organization }, "My tickets"),
      h("option", { value: "organization", selected: organization }, "My organization's tickets"),
    );
    control.addEventListener("change", () => navigate(`/portal?scope=${control.value}`));
    switcher = h("div.list-head", {}, h("label", { for: "scope" }, "Show "), control);
  }
  mount(
    main,
    h("h1", {}, organization ? "My organization's tickets" : "My tickets"),
    switcher,
    error,
    h(
      "div.table-wrap",
      {},
      h("table.tickets", {}, h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))), body),
    ),
    more,
  );
  let cursor = null;
  const load = async () => {
    try {
      const result = await page("/v1/me/tickets", { scope, cursor, limit: 25 });
      for (const ticket of result.items) {
        body.append(
          h(
            "tr",
            {},
            cell("ID", `#${ticket.number}`),
            organization ? cell("Requester", ticket.requester_name || "—") : null,
            cell("Subject", h("a", { href: `#/portal/tickets/${encodeURIComponent(ticket.id)}` }, ticket.subject)),
            cell("Created", time(ticket.created_at)),
            cell("Last activity", time(ticket.last_activity_at)),
            cell("Type", ticket.type),
            cell("Status", h("span.badge", {}, statusLabel(ticket))),
          ),
        );
      }
      cursor = result.nextCursor;
      more.hidden = !cursor;
      if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: columns.length }, "No tickets yet.")));
    } catch (exc) {
      error.textContent = exc.message;
    }
  };
  more.addEventListener("click", load);
  await load();
}
