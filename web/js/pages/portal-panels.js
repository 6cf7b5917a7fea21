// The customer's ticket page tools: escalation progress (stage timeline, the estimate marked
// "not guaranteed", the verification question), close, feedback / thank-you, proxy access.
import { ApiError, api } from "../api.js";
import { announce, h, mount } from "../dom.js";
import { estimate, stageLabel, stageTimeline } from "./ticket-panels.js";

function problemText(exc) {
  const field = exc instanceof ApiError ? exc.fieldErrors[0] : null;
  return field ? field.message : exc.message;
}

/** A form whose submit runs `action`; errors show in its own alert and the fields keep their values. */
function actionForm(label, children, action) {
  const error = h("p.error", { role: "alert" });
  const form = h("form", { "aria-label": label }, ...children, error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const buttons = [...form.querySelectorAll("button")];
    buttons.forEach((b) => (b.disabled = true));
    try {
      await action(event.submitter);
    } catch (exc) {
      error.textContent = problemText(exc);
      buttons.forEach((b) => (b.disabled = false));
    }
  });
  return form;
}

/** The escalation as the customer follows it; in verification the requester (or org admin) answers. */
export function escalationProgress(escalation, { canVerify, onChange }) {
  const panel = h("section.panel.escalation", { "aria-labelledby": "escalation-heading" });
  const comment = h("textarea#verify-comment", { rows: 2 });
  const stage = escalation.pending_stage || escalation.stage;
  mount(
    panel,
    h("h2#escalation-heading", {}, `Escalation ${escalation.id}`),
    h("p", {}, "Stage: ", h("strong", {}, stageLabel(stage))),
    stageTimeline(stage, escalation.stages),
    estimate(escalation),
    escalation.stage === "verification" && !escalation.pending_stage && canVerify
      ? actionForm(
          "Verify the fix",
          [
            h("p", {}, "Is the problem fixed for you?"),
            h("label", { for: "verify-comment" }, "Comment (optional)"),
            comment,
            h("div.actions", {}, h("button.primary", { type: "submit", value: "yes" }, "Yes, it is fixed"), h("button", { type: "submit", value: "no" }, "No, still broken")),
          ],
          async (submitter) => {
            const confirmed = submitter?.value === "yes";
            const { data } = await api("POST", `/v1/escalations/${encodeURIComponent(escalation.id)}/verification`, {
              body: { confirmed, comment: comment.value },
            });
            announce(confirmed ? "Thanks: the escalation is resolved" : "Sent back to engineering");
            onChange(data);
          },
        )
      : null,
  );
  return panel;
}

/** "Close ticket" for the requester or an org admin. */
export function closeTicket(ticket, { onChange }) {
  return actionForm("Close ticket", [h("button", { type: "submit" }, "Close ticket")], async () => {
    await api("POST", `/v1/tickets/${encodeURIComponent(ticket.id)}/close`);
    announce("Ticket closed");
    onChange();
  });
}

/** On a closed ticket: the requester rates it once, then reads a thank-you. */
export function feedbackPanel(ticket, { canRate, onChange }) {
  const panel = h("section.panel.feedback", { "aria-labelledby": "feedback-heading" }, h("h2#feedback-heading", {}, "Feedback"));
  if (ticket.feedback) {
    panel.append(h("p.thanks", {}, `Thank you for your feedback (${ticket.feedback.rating} of 5).`));
    return panel;
  }
  if (!canRate) {
    panel.append(h("p.muted", {}, "Only the person who submitted this ticket can leave feedback."));
    return panel;
  }
  const comment = h("textarea#feedback-comment", { rows: 2 });
  panel.append(
    actionForm(
      "Leave feedback",
      [
        h(
          "fieldset.rating",
          {},
          h("legend", {}, "How did we do?"),
          [1, 2, 3, 4, 5].map((n) => h("label", {}, h("input", { type: "radio", name: "rating", value: String(n), required: true }), ` ${n}`)),
        ),
        h("label", { for: "feedback-comment" }, "Comment (optional)"),
        comment,
        h("div.actions", {}, h("button.primary", { type: "submit" }, "Send feedback")),
      ],
      async () => {
        const rating = Number(panel.querySelector("input[name=rating]:checked")?.value);
        const { data } = await api("POST", `/v1/tickets/${encodeURIComponent(ticket.id)}/feedback`, { body: { rating, comment: comment.value } });
        announce("Thank you for your feedback");
        onChange(data);
      },
    ),
  );
  return panel;
}

/** The requester lets support sign in as them for this ticket, or stops it. */
export function proxyToggle(ticket) {
  const box = h("input#proxy-access", { type: "checkbox", checked: Boolean(ticket.proxy_access) });
  const error = h("p.error", { role: "alert" });
  box.addEventListener("change", async () => {
    error.textContent = "";
    box.disabled = true;
    try {
      await api("PUT", `/v1/tickets/${encodeURIComponent(ticket.id)}/proxy-access`, { body: { enabled: box.checked } });
      ticket.proxy_access = box.checked;
      announce(box.checked ? "Support may sign in as you for this ticket" : "Proxy access turned off");
    } catch (exc) {
      box.checked = !box.checked;
      error.textContent = problemText(exc);
    } finally {
      box.disabled = false;
    }
  });
  return h("div.proxy", {}, box, h("label", { for: "proxy-access" }, " Let support sign in as me to look into this ticket"), error);
}
