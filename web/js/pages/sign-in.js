// Sign-in. In the cloud (config.json says "cognito"): Cognito's hosted UI, code flow + PKCE
// (cognito.js). Locally: the local stack lists its demo users with a fresh token each
// (/local/demo-users, served by devstack only); one click signs in. Tokens stay in memory.
import { api } from "../api.js";
import * as cognito from "../cognito.js";
import { h, mount } from "../dom.js";
import { currentPath } from "../router.js";
import { session } from "../session.js";

async function signInAs(user) {
  session.signIn({ ...user, id: null });
  const { data } = await api("GET", "/v1/me");
  session.signIn({ ...user, id: data.id, name: data.name || user.name, role: data.role || user.role, orgAdmin: Boolean(data.org_admin) });
}

async function cloudSignIn(main, config, done) {
  const search = window.location.search;
  if (!new URLSearchParams(search).has("code") && !new URLSearchParams(search).has("error")) {
    const start = async () => window.location.assign(await cognito.authorizeUrl(config, currentPath()));
    mount(main, h("h1", {}, "Sign in"), h("p", {}, h("button.sign-in", { type: "button", onclick: start }, "Sign in with your help desk account")));
    return;
  }
  // Back from the hosted UI: the code leaves the address bar before anything else happens.
  window.history.replaceState(null, "", window.location.pathname + window.location.hash);
  mount(main, h("h1", {}, "Sign in"), h("p", {}, "Signing in…"));
  try {
    const pending = cognito.takePending(search);
    const onRefresh = (tokens) => (tokens ? session.signIn({ ...session.user, token: tokens.idToken }) : session.signOut());
    const tokens = await cognito.redeem(config, pending, onRefresh);
    await signInAs({ token: tokens.idToken, name: "", role: "" });
    done(pending.returnTo);
  } catch (exc) {
    cognito.forget();
    session.signOut();
    mount(main, h("h1", {}, "Sign in"), h("p.error", { role: "alert" }, `Sign-in failed: ${exc.message}`), h("p", {}, h("a", { href: window.location.pathname }, "Try again")));
  }
}

export async function renderSignIn(main, done) {
  document.title = "Sign in · Helpdesk";
  const config = await cognito.loadConfig();
  if (config.auth === "cognito") return cloudSignIn(main, config, done);
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
    try {
      await signInAs(user);
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
