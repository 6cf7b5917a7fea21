// Local sign-in: the local stack lists its demo users with a fresh token each (/local/demo-users,
// served by devstack only). One click signs in; the token stays in memory.
import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { session } from "../session.js";

export async function renderSignIn(main, done) {
  document.title = "Sign in · Helpdesk";
  mount(main, h("h1", {}, "Sign in"), h("p", {}, "Loading demo users…"));
  let users;
  try {
    const response = await fetch("/local/demo-users", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    users = (await response.json()).items;
  } catch {
    mount(main, h("h1", {}, "Sign in"), h("p.error", { role: "alert" }, "No local sign-in here: this page lists demo users only on the local stack (make run)."));
    return;
  }
  const error = h("p.error", { role: "alert" });
  const choose = async (user) => {
    session.signIn({ ...user, id: null });
    try {
      const { data } = await api("GET", "/v1/me");
      session.signIn({ ...user, id: data.id, name: data.name || user.name, role: data.role || user.role, orgAdmin: Boolean(data.org_admin) });
      done();
    } catch (exc) {
      session.signOut();
      error.textContent = `Sign-in failed: ${exc.message}`;
    }
  };
  mount(
    main,
    h("h1", {}, "Sign in"),
    h("p", {}, "Local stack: choose a demo user."),
    error,
    h(
      "ul.sign-in-list",
      {},
      users.map((user) =>
        h(
          "li",
          {},
          h("button.sign-in", { type: "button", onclick: () => choose(user) }, h("strong", {}, user.name), h("span", {}, ` ${user.role}`)),
          h("span.muted", {}, ` ${user.label} · ${user.describe}`),
        ),
      ),
    ),
  );
}
