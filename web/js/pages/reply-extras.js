// The agent reply box's extras: quick-reply templates (listed when the menu is first used,
// filled in for the ticket by the API) and the CC picker (users listed on first use too), so the
// ticket page still opens with its three requests.
import { api } from "../api.js";
import { users } from "../directory.js";
import { h } from "../dom.js";

/** Sanitized HTML from the API as plain text for the textarea (paragraphs become blank lines). */
function htmlToText(html) {
  const doc = new DOMParser().parseFromString(String(html ?? ""), "text/html");
  const blocks = [...doc.body.querySelectorAll("p, li, pre, blockquote, h1, h2, h3, h4, h5, h6")];
  if (!blocks.length) return doc.body.textContent.trim();
  return blocks.map((b) => b.textContent.trim()).filter(Boolean).join("\n\n");
}

/** "Insert template": the chosen template, filled in for `ticket`, goes where the cursor is. */
export function templatePicker(ticket, textarea, error) {
  const select = h("select#reply-template", {}, h("option", { value: "" }, "Insert a template…"));
  select.addEventListener(
    "focus",
    async () => {
      try {
        const { data } = await api("GET", "/v1/templates", { query: { limit: 100 } });
        select.append(...data.items.map((t) => h("option", { value: t.id }, t.name)));
      } catch (exc) {
        error.textContent = `Templates: ${exc.message}`;
      }
    },
    { once: true },
  );
  select.addEventListener("change", async () => {
    if (!select.value) return;
    try {
      const { data } = await api("GET", `/v1/templates/${encodeURIComponent(select.value)}/render`, { query: { ticket_id: ticket.id } });
      const text = htmlToText(data.body);
      const at = textarea.selectionStart ?? textarea.value.length;
      textarea.value = textarea.value.slice(0, at) + text + textarea.value.slice(textarea.selectionEnd ?? at);
      textarea.dispatchEvent(new Event("input", { bubbles: true })); // the draft keeps it
      textarea.focus();
    } catch (exc) {
      error.textContent = `Template: ${exc.message}`;
    } finally {
      select.value = "";
    }
  });
  return [h("label", { for: "reply-template" }, "Template"), select];
}

/** CC: a multiple choice of users, listed on first focus; `value()` is the chosen ids. */
export function ccPicker(ticket) {
  const select = h("select#reply-cc", { multiple: true, size: 3 });
  for (const id of ticket.cc || []) select.append(h("option", { value: id, selected: true }, id));
  select.addEventListener(
    "focus",
    async () => {
      try {
        const everyone = await users(); // the directory, asked once for all the page's pickers
        if (!everyone.length) return; // not allowed to list users: the ticket's CC stays as it is
        const chosen = new Set(ticket.cc || []);
        select.replaceChildren(
          ...everyone
            .filter((u) => u.id !== ticket.requester_id)
            .map((u) => h("option", { value: u.id, selected: chosen.has(u.id) }, `${u.name} (${u.email || u.role})`)),
        );
      } catch {
        // Not allowed to list users: the ticket's CC stays as it is.
      }
    },
    { once: true },
  );
  return { element: h("div.cc", {}, h("label", { for: "reply-cc" }, "CC"), select), value: () => [...select.selectedOptions].map((o) => o.value) };
}
