// A customer's ticket page: the public thread and a reply box, which is absent on closed
// tickets and on tickets someone else submitted. Two requests (ticket and timeline), a third for
// an escalated ticket's stage timeline; then close, feedback and proxy access (portal-panels.js).
import { api } from "../api.js";
import { h, mount, renderSanitized, time } from "../dom.js";
import { session } from "../session.js";
import { statusLabel } from "./labels.js";
import { closeTicket, escalationProgress, feedbackPanel, proxyToggle } from "./portal-panels.js";
import { renderTimeline, replyBox } from "./thread.js";

export async function renderPortalTicket(main, { id }) {
  mount(main, h("p", {}, "Loading ticket…"));
  const path = `/v1/tickets/${encodeURIComponent(id)}`;
  const load = async () => {
    const [ticketResponse, timelineResponse] = await Promise.all([api("GET", path), api("GET", `${path}/timeline`)]);
    const eid = ticketResponse.data.escalation?.id;
    const escalation = eid ? (await api("GET", `/v1/escalations/${encodeURIComponent(eid)}`)).data : null;
    return [ticketResponse, timelineResponse, escalation];
  };
  let responses;
  try {
    responses = await load();
  } catch (exc) {
    mount(main, h("h1", {}, "Ticket"), h("p.error", { role: "alert" }, exc.status === 404 ? "No such ticket." : exc.message));
    return;
  }
  const me = session.user;
  const thread = h("section", { "aria-label": "Conversation" });
  const redraw = async () => draw(await load());
  const draw = ([ticketResponse, timelineResponse, escalation]) => {
    const ticket = ticketResponse.data;
    document.title = `#${ticket.number} ${ticket.subject} · Helpdesk`;
    const closed = ticket.status_category === "closed" || ticket.status === "closed";
    const mine = ticket.requester_id === me.id;
    const canReply = !closed && mine;
    mount(
      main,
      h("p", {}, h("a", { href: "#/portal" }, "← My tickets")),
      h("h1", {}, `#${ticket.number} `, h("span.subject", {}, ticket.subject)),
      h(
        "p.facts-inline",
        {},
        h("span.badge", {}, statusLabel(ticket)),
        ` ${ticket.type} · opened `,
        time(ticket.created_at),
        " · last activity ",
        time(ticket.last_activity_at),
      ),
      closed ? h("p.banner", { role: "status" }, "This ticket is closed.") : null,
      closed ? feedbackPanel(ticket, { canRate: mine, onChange: redraw }) : null,
      escalation ? escalationProgress(escalation, { canVerify: mine || me.orgAdmin, onChange: redraw }) : null,
      !closed && !canReply ? h("p.muted", {}, "Submitted by someone else in your organization: only they can reply.") : null,
      canReply ? replyBox({ ticket, me, staff: false, onSent: redraw }) : null,
      !closed && (mine || me.orgAdmin) ? h("div.portal-actions", {}, closeTicket(ticket, { onChange: redraw }), mine ? proxyToggle(ticket) : null) : null,
      thread,
    );
    mount(thread, h("h2", {}, "Conversation"), h("div.description", {}, renderSanitized(ticket.description)), renderTimeline(ticket, timelineResponse.data.items, me));
  };
  draw(responses);
}
