// The admin pages (#/admin/<collection>[/<id>|/new]), loaded only when an admin opens them: the
// first workspace load never fetches this module graph (bench/web_size.py counts it separately).
import { h, mount } from "../dom.js";
import { session } from "../session.js";
import { renderItem, renderList } from "./editor.js";
import { SECTIONS } from "./sections.js";

function ensureStyles() {
  if (document.getElementById("admin-styles")) return;
  document.head.append(h("link#admin-styles", { rel: "stylesheet", href: "admin.css" }));
}

export async function renderAdmin(main, { section: key = "teams", id } = {}) {
  ensureStyles();
  if (session.user?.role !== "admin") {
    mount(main, h("h1", {}, "Admin"), h("p.error", { role: "alert" }, "Only admins configure the help desk."));
    return;
  }
  const section = SECTIONS.find((s) => s.key === key);
  const content = h("div.admin-content");
  mount(
    main,
    h(
      "div.admin",
      {},
      h(
        "nav.admin-nav",
        { "aria-label": "Admin" },
        h("ul", {}, SECTIONS.map((s) => h("li", {}, h("a", { href: `#/admin/${s.key}`, "aria-current": s === section ? "page" : undefined }, s.title)))),
      ),
      content,
    ),
  );
  if (!section) {
    mount(content, h("h1", {}, "Admin"), h("p.error", { role: "alert" }, "No such admin page."));
    return;
  }
  if (id === undefined) await renderList(content, section);
  else await renderItem(content, section, id);
}
