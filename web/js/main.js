// Entry point: routes to pages; anyone not signed in goes to the sign-in page first, then back.
import { currentTokens, forget } from "./cognito.js";
import { forgetDirectory, loadReplyDefault } from "./directory.js";
import { h, mount } from "./dom.js";
import { renderMfa } from "./pages/mfa.js";
import { renderPortal } from "./pages/portal.js";
import { renderPortalTicket } from "./pages/portal-ticket.js";
import { renderSignIn } from "./pages/sign-in.js";
import { renderTicket } from "./pages/ticket.js";
import { renderWorkspace } from "./pages/workspace.js";
import { currentPath, navigate, route, start } from "./router.js";
import { session } from "./session.js";

const main = document.getElementById("main");
let wanted = null;

function guarded(render, { staff }) {
  return async (params) => {
    if (!session.user) {
      wanted = currentPath();
      navigate("/sign-in");
      return;
    }
    if (staff !== session.isStaff()) {
      navigate(home());
      return;
    }
    renderWho();
    // The admin's default reply type: asked once per signed-in agent, before their first page.
    if (staff) await loadReplyDefault();
    forgetDirectory();
    render(main, params);
  };
}

export function home() {
  return session.isStaff() ? "/views/mine-open" : "/portal";
}

function renderWho() {
  const who = document.getElementById("who");
  if (!session.user) return mount(who);
  mount(
    who,
    session.user.role === "admin" ? [h("a.admin-link", { href: "#/admin/teams" }, "Admin"), " "] : null,
    h("span", {}, `${session.user.name} (${session.user.role})`),
    " ",
    currentTokens() ? h("a.link", { href: "#/mfa" }, "Set up MFA") : null,
    " ",
    h("button.link", { type: "button", onclick: () => { forget(); session.signOut(); navigate("/sign-in"); } }, "Sign out"),
  );
}

route("/sign-in", () => {
  renderWho();
  renderSignIn(main, (returnTo) => {
    const next = returnTo || wanted;
    wanted = null;
    navigate(next && next !== "/sign-in" ? next : home());
  });
});
route("/mfa", (params) => {
  if (!session.user) return navigate("/sign-in");
  renderWho();
  return renderMfa(main, params);
});
route("/views/:view", guarded(renderWorkspace, { staff: true }));
route("/tickets/:id", guarded(renderTicket, { staff: true }));
// The admin pages load on first use (their modules are not part of the first load).
const admin = (main, params) => import("./admin/index.js").then((m) => m.renderAdmin(main, params));
route("/admin", guarded(admin, { staff: true }));
route("/admin/:section", guarded(admin, { staff: true }));
route("/admin/:section/:id", guarded(admin, { staff: true }));
route("/portal", guarded(renderPortal, { staff: false }));
route("/portal/tickets/:id", guarded(renderPortalTicket, { staff: false }));

start(() => navigate(session.user ? home() : "/sign-in"));
