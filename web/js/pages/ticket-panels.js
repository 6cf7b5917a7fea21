// The agent ticket page's side panels: escalation (stage timeline, transitions, estimated
// resolution date), the SLA clock (live countdown, paused), presence avatars with the heartbeat,
// follow, sentiment and activity badges. Everything opens from the ticket GET already made: the
// escalation's stage dates and notes are fetched only when asked for ("Stage history").
import { ApiError, api } from "../api.js";
import { announce, h, mount, renderSanitized, time } from "../dom.js";

export const STAGES = ["submitted", "review", "engineering", "verification", "resolved"];
const STAGE_LABELS = { submitted: "Submitted", review: "Review", engineering: "Engineering", verification: "Verification", resolved: "Resolved" };
const METRIC_LABELS = { first_response: "First response", next_response: "Next response", resolution: "Resolution" };
const HEARTBEAT_SECONDS = 30;
const SHOWN_AVATARS = 5;

export const stageLabel = (stage) => STAGE_LABELS[stage] || stage;

function problemText(exc) {
  const field = exc instanceof ApiError ? exc.fieldErrors[0] : null;
  return field ? `${field.field}: ${field.message}` : exc.message;
}

/** Runs `tick` every second while `el` is in the page; stops by itself once it is gone. */
export function whileConnected(el, tick, seconds = 1) {
  tick();
  const timer = setInterval(() => {
    if (!el.isConnected) clearInterval(timer);
    else tick();
  }, seconds * 1000);
}

/** "2h 05m 09s" for a positive number of seconds. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const parts = [];
  if (days) parts.push(`${days}d`);
  parts.push(`${Math.floor((s % 86400) / 3600)}h`, `${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`, `${String(s % 60).padStart(2, "0")}s`);
  return parts.join(" ");
}

/**
 * The stage timeline: every stage in order, the ones passed marked done, the current one
 * aria-current="step"; with the escalation's detail (GET) each stage shows when it was entered.
 */
export function stageTimeline(stage, stages = null, { notes = false } = {}) {
  const current = STAGES.indexOf(stage);
  const entered = new Map();
  for (const entry of stages || []) entered.set(entry.stage, entry); // the latest entry per stage
  return h(
    "ol.stages",
    { "aria-label": "Escalation stages" },
    STAGES.map((name, index) => {
      const state = index < current || stage === "resolved" ? "done" : index === current ? "current" : "upcoming";
      const entry = entered.get(name);
      return h(
        `li.stage.stage-${state}`,
        { "aria-current": state === "current" ? "step" : null },
        h("span.stage-name", {}, stageLabel(name)),
        h("span.visually-hidden", {}, state === "done" ? " (done)" : state === "current" ? " (current stage)" : " (to come)"),
        entry && index <= current ? h("span.stage-when", {}, " ", time(entry.entered_at)) : null,
        notes && entry?.note && index <= current ? h("span.stage-note", {}, renderSanitized(entry.note)) : null,
      );
    }),
  );
}

/** "Estimated resolution: <date>" with the API's caveat (an estimate, not a guarantee). */
export function estimate(escalation) {
  const erd = escalation?.estimated_resolution_date;
  if (!erd) return h("p.muted.estimate", {}, "No estimated resolution date yet.");
  const shown = new Date(`${erd}T00:00:00`).toLocaleDateString();
  return h("p.estimate", {}, "Estimated resolution: ", h("time", { datetime: erd }, shown), h("span.muted", {}, " (not guaranteed)"));
}

/** The allowed moves from a stage: the next one, and from verification back to engineering. */
function nextStages(stage) {
  const index = STAGES.indexOf(stage);
  const moves = index >= 0 && index < STAGES.length - 1 ? [STAGES[index + 1]] : [];
  if (stage === "verification") moves.push("engineering");
  return moves;
}

/** The agent's escalation panel; `onChange` refreshes the page after an escalation is created. */
export function escalationPanel(ticket, { onChange }) {
  const panel = h("section.panel.escalation", { "aria-labelledby": "escalation-heading" });
  const error = h("p.error#escalation-error", { role: "alert" });
  let escalation = ticket.escalation;
  let detail = null;

  // A transition the workflow has not applied yet: shown at the stage it is moving to.
  const stageNow = () => detail?.pending_stage || escalation.stage;
  const paint = () => {
    const open = escalation && stageNow() !== "resolved";
    mount(
      panel,
      h("h2#escalation-heading", {}, "Escalation"),
      error,
      escalation ? h("p", {}, h("strong", {}, escalation.id), " · ", stageLabel(stageNow())) : null,
      detail?.description ? h("div.escalation-description", {}, renderSanitized(detail.description)) : null,
      detail?.pending_stage ? h("p.muted", {}, `Moving to ${stageLabel(detail.pending_stage)}…`) : null,
      escalation ? stageTimeline(stageNow(), detail?.stages, { notes: true }) : null,
      escalation ? estimate(escalation) : null,
      escalation && !detail ? h("button.link", { type: "button", onclick: loadDetail }, "Stage history") : null,
      open ? transitionForm() : createForm(),
    );
  };

  const loadDetail = async () => {
    try {
      detail = (await api("GET", `/v1/escalations/${encodeURIComponent(escalation.id)}`)).data;
      escalation = { ...escalation, ...detail };
      paint();
    } catch (exc) {
      error.textContent = problemText(exc);
    }
  };

  const createForm = () => {
    const description = h("textarea#escalation-description", { rows: 2, required: true });
    const form = h(
      "form.escalate",
      { "aria-label": "Escalate" },
      h("label", { for: "escalation-description" }, escalation ? "Escalate again: what is wrong?" : "What needs escalating?"),
      description,
      h("button", { type: "submit" }, "Escalate"),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      if (!description.value.trim()) {
        error.textContent = "Describe the problem first.";
        return;
      }
      try {
        detail = (await api("POST", `/v1/tickets/${encodeURIComponent(ticket.id)}/escalations`, { body: { description: description.value } })).data;
        escalation = detail;
        announce(`Escalated as ${detail.id}`);
        paint();
        onChange?.();
      } catch (exc) {
        error.textContent = problemText(exc);
      }
    });
    return form;
  };

  const transitionForm = () => {
    const moves = nextStages(stageNow());
    const note = h("input#escalation-note", { type: "text", maxlength: 500 });
    const erd = h("input#escalation-erd", { type: "date", value: escalation.estimated_resolution_date || "" });
    const form = h(
      "form.transition",
      { "aria-label": "Move the escalation" },
      h("label", { for: "escalation-note" }, "Note"),
      note,
      h("label", { for: "escalation-erd" }, "Estimated resolution date"),
      erd,
      h("div.actions", {}, moves.map((to) => h("button", { type: "submit", value: to }, `Move to ${stageLabel(to)}`))),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      const body = { to: event.submitter?.value || moves[0], note: note.value };
      if (erd.value !== (escalation.estimated_resolution_date || "")) body.estimated_resolution_date = erd.value || null;
      try {
        detail = (await api("POST", `/v1/escalations/${encodeURIComponent(escalation.id)}/transitions`, { body })).data;
        escalation = { ...escalation, ...detail };
        announce(detail.pending_stage ? `Moving to ${stageLabel(detail.pending_stage)}` : `Moved to ${stageLabel(detail.stage)}`);
        paint();
      } catch (exc) {
        error.textContent = problemText(exc);
      }
    });
    return form;
  };

  paint();
  return panel;
}

/** The SLA clock that needs attention first, counting down every second; paused says so. */
export function slaPanel(ticket) {
  const sla = ticket.sla;
  const panel = h("section.panel.sla", { "aria-labelledby": "sla-heading" }, h("h2#sla-heading", {}, "SLA"));
  if (!sla) {
    panel.append(h("p.muted", {}, "No SLA clock running."));
    return panel;
  }
  const metric = METRIC_LABELS[sla.metric] || sla.metric;
  const clock = h("p.sla-clock", { dataset: { status: sla.status } });
  const due = sla.due_at ? Date.parse(sla.due_at) : null;
  const paint = () => {
    if (sla.status === "paused") {
      mount(clock, h("span.badge.sla-paused", {}, "Paused"), ` ${metric}: the clock is paused`);
      return;
    }
    if (due === null) {
      mount(clock, `${metric}: ${sla.status}`);
      return;
    }
    const left = (due - Date.now()) / 1000;
    if (left <= 0 || sla.status === "breached") {
      mount(clock, h("span.badge.sla-breached", {}, "Breached"), ` ${metric} overdue by `, h("span.countdown", {}, duration(-left)));
    } else {
      mount(clock, `${metric} due in `, h("span.countdown", {}, duration(left)));
    }
  };
  panel.append(clock, sla.due_at ? h("p.muted", {}, "Due ", time(sla.due_at)) : null);
  const breached = (sla.breached || []).map((m) => METRIC_LABELS[m] || m);
  if (breached.length) panel.append(h("p.error-text", {}, `Breached so far: ${breached.join(", ")}`));
  whileConnected(clock, paint);
  return panel;
}

function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  return ((words[0]?.[0] || "?") + (words.length > 1 ? words[words.length - 1][0] : "")).toUpperCase();
}

/** Who else has the ticket open: five avatars, then "+n". */
export function presenceBar(ticket) {
  const viewers = ticket.viewers || [];
  if (!viewers.length) return h("p.presence.muted", {}, "Nobody else is viewing this ticket.");
  const shown = viewers.slice(0, SHOWN_AVATARS);
  const more = viewers.length - shown.length + (ticket.viewers_more || 0);
  return h(
    "ul.presence",
    { "aria-label": "Also viewing" },
    shown.map((viewer) => h("li.avatar", { title: `${viewer.name} is viewing`, "aria-label": `${viewer.name} is viewing` }, h("span", { "aria-hidden": "true" }, initials(viewer.name)))),
    more > 0 ? h("li.avatar.more", { "aria-label": `and ${more} more` }, `+${more}`) : null,
  );
}

/** The presence heartbeat: a PUT every 30 s while `el` (the page) is open. The first one is the page's own. */
export function heartbeat(el, path) {
  const timer = setInterval(() => {
    if (!el.isConnected) clearInterval(timer);
    else api("PUT", `${path}/presence`).catch(() => {});
  }, HEARTBEAT_SECONDS * 1000);
}

/** Follow / unfollow for the signed-in user. */
export function followButton(ticket, me, path) {
  let following = (ticket.followers || []).includes(me.id);
  const button = h("button#follow", { type: "button", "aria-pressed": String(following) });
  const paint = () => {
    button.textContent = following ? "Following" : "Follow";
    button.setAttribute("aria-pressed", String(following));
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api(following ? "DELETE" : "PUT", `${path}/followers/me`);
      following = !following;
      announce(following ? "Following this ticket" : "No longer following");
      paint();
    } catch (exc) {
      announce(problemText(exc));
    } finally {
      button.disabled = false;
    }
  });
  paint();
  return button;
}

const ACTIVITY_LABELS = { unread: "Unread", read: "Read", waiting_on_contact: "Waiting on contact", waiting_on_agent: "Waiting on agent" };

/** Sentiment and activity status, when the API gives them. */
export function badges(ticket) {
  return [
    ticket.sentiment ? h(`span.badge.sentiment-${ticket.sentiment}`, { title: "Sentiment" }, `Sentiment: ${ticket.sentiment}`) : null,
    ticket.activity_status ? h("span.badge.activity", { title: "Activity status" }, ACTIVITY_LABELS[ticket.activity_status] || ticket.activity_status) : null,
  ];
}
