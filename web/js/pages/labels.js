// Display words shared by the pages.
export const STATUSES = ["open", "pending", "resolved", "closed"];
export const PRIORITIES = ["low", "normal", "high", "urgent"];

/** "Escalated" while an escalation is running, otherwise the status. */
export function statusLabel(ticket) {
  const escalation = ticket.escalation;
  if (escalation && !["resolved", "closed", "cancelled", "completed"].includes(escalation.stage || escalation.status || escalation.state)) {
    return "Escalated";
  }
  return ticket.status;
}

/** Who did a timeline entry, from the names the ticket already carries (no extra request). */
export function actorName(entry, ticket, me) {
  if (entry.actor_id === me?.id) return "You";
  if (entry.actor_id === "system") return "System";
  if (entry.actor_id === ticket.requester_id) return ticket.requester_name || "Requester";
  if (entry.actor_id === ticket.assignee_id) return ticket.assignee_name || "Assignee";
  return entry.actor_name || (entry.actor_id?.startsWith("automation:") ? "Automation" : "Support");
}
