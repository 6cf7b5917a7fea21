// Linked tickets and the merge and link dialogs (native <dialog>: focus kept inside, Escape
// closes). A ticket is named by its id, which the agent copies from the other ticket's page.
import { ApiError, api } from "../api.js";
import { announce, h, mount } from "../dom.js";

function problemText(exc) {
  const field = exc instanceof ApiError ? exc.fieldErrors[0] : null;
  return field ? `${field.field}: ${field.message}` : exc.message;
}

/** A modal dialog with one "Ticket ID" field; `submit(id)` runs the action, errors stay in it. */
function idDialog(name, intro, action, submit) {
  const input = h(`input#${name}-id`, { type: "text", required: true, autocomplete: "off" });
  const error = h(`p.error#${name}-error`, { role: "alert" });
  const dialog = h(
    "dialog.dialog",
    { "aria-labelledby": `${name}-title` },
    h(
      "form",
      { method: "dialog" },
      h(`h2#${name}-title`, {}, intro),
      h("label", { for: `${name}-id` }, "Ticket ID"),
      input,
      error,
      h("div.actions", {}, h("button.primary", { type: "submit", value: "go" }, action), h("button", { type: "submit", value: "cancel", formnovalidate: true }, "Cancel")),
    ),
  );
  dialog.querySelector("form").addEventListener("submit", async (event) => {
    if (event.submitter?.value !== "go") return; // Cancel closes
    event.preventDefault();
    error.textContent = "";
    try {
      await submit(input.value.trim());
      dialog.close();
    } catch (exc) {
      error.textContent = exc.status === 404 ? "No ticket with that ID that you can see." : problemText(exc);
    }
  });
  return dialog;
}

export function relatedPanel(ticket, path, onChange) {
  const panel = h("section.panel.related", { "aria-labelledby": "related-heading" });
  const links = ticket.links || [];
  const merge = idDialog("merge", "Merge a ticket into this one", "Merge", async (id) => {
    await api("POST", `${path}/merge`, { body: { source_id: id } });
    announce("Merged: the other ticket is closed and its timeline is here");
    onChange();
  });
  const link = idDialog("link", "Link a related ticket", "Link", async (id) => {
    await api("POST", `${path}/links`, { body: { ticket_id: id } });
    announce("Linked");
    onChange();
  });
  const unlink = async (id) => {
    try {
      await api("DELETE", `${path}/links/${encodeURIComponent(id)}`);
      announce("Unlinked");
      onChange();
    } catch (exc) {
      announce(problemText(exc));
    }
  };
  mount(
    panel,
    h("h2#related-heading", {}, "Related tickets"),
    links.length
      ? h("ul.linked", {}, links.map((id) => h("li", {}, h("a", { href: `#/tickets/${encodeURIComponent(id)}` }, id), " ", h("button.link", { type: "button", onclick: () => unlink(id) }, "Unlink"))))
      : h("p.muted", {}, "No linked tickets."),
    ticket.merged_into ? h("p", {}, "Merged into ", h("a", { href: `#/tickets/${encodeURIComponent(ticket.merged_into)}` }, ticket.merged_into)) : null,
    h("p.muted", {}, "This ticket's ID: ", h("code", {}, ticket.id)),
    h("div.actions", {}, h("button", { type: "button", onclick: () => link.showModal() }, "Link ticket…"), h("button", { type: "button", onclick: () => merge.showModal() }, "Merge ticket…")),
    merge,
    link,
  );
  return panel;
}
