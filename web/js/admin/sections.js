// The admin collections: each over its public API path, with the columns of its list and the
// fields of its form (dotted keys build nested objects, e.g. conditions.subject_contains).
import { api } from "../api.js";
import { h } from "../dom.js";
import { holidayList, holidaysToRaw, holidaysValue, targetsGrid, targetsValue, weeklyGrid, weeklyValue } from "./hours.js";

const PRIORITIES = ["low", "normal", "high", "urgent"].map((v) => [v, v]);
const TYPES = ["incident", "problem", "request", "change"].map((v) => [v, v]);
const CHANNELS = ["email", "chat", "phone", "conference", "web", "api"].map((v) => [v, v]);
const CATEGORIES = ["open", "pending", "resolved", "closed"].map((v) => [v, v]);
const list = (values) => (values || []).join(", ") || "—";

async function choices(path, label = (item) => item.name) {
  const { data } = await api("GET", path, { query: { limit: 100 } });
  return data.items.map((item) => [item.id, label(item)]);
}
const none = (text) => async (load) => [["", text], ...(await load())];
const teams = () => choices("/v1/teams");
const orgs = () => choices("/v1/organizations");
const hours = () => choices("/v1/business-hours");
const statusChoices = () => choices("/v1/statuses", (s) => `${s.name} (${s.category})`);

/** Every pipeline (cursor pages of 100), for the statuses list's "Pipelines" column. */
async function allPipelines() {
  const items = [];
  let cursor;
  do {
    const { data } = await api("GET", "/v1/pipelines", { query: { limit: 100, cursor } });
    items.push(...data.items);
    cursor = data.next_cursor;
  } while (cursor);
  return items;
}
const pipelinesOf = (status, context) => list((context?.pipelines || []).filter((p) => p.statuses.includes(status.id)).map((p) => p.name));

const conditionFields = (extra = []) => [
  { key: "conditions.priorities", label: "Priorities", type: "checks", options: PRIORITIES },
  { key: "conditions.types", label: "Types", type: "checks", options: TYPES },
  { key: "conditions.channels", label: "Channels", type: "checks", options: CHANNELS },
  { key: "conditions.organization_ids", label: "Organizations", type: "checks", options: orgs },
  { key: "conditions.tags", label: "Tags (any of, comma-separated)", type: "list" },
  ...extra,
];

export const SECTIONS = [
  {
    key: "teams", title: "Teams", singular: "team", path: "/v1/teams",
    columns: [["Name", (t) => t.name], ["Description", (t) => t.description || "—"]],
    fields: [{ key: "name", label: "Name", required: true }, { key: "description", label: "Description", type: "textarea" }],
  },
  {
    key: "users", title: "Users", singular: "user", path: "/v1/users",
    columns: [["Name", (u) => u.name], ["Email", (u) => u.email], ["Role", (u) => u.role], ["Access", (u) => u.access || "—"], ["Availability", (u) => u.availability || "—"], ["Disabled", (u) => (u.disabled ? "yes" : "no")]],
    fields: [
      { key: "name", label: "Name", required: true },
      { key: "email", label: "Email", type: "email", required: true },
      { key: "role", label: "Role", type: "select", options: [["agent", "agent"], ["admin", "admin"], ["customer", "customer"]], default: "agent" },
      { key: "team_ids", label: "Teams", type: "checks", options: teams },
      { key: "access", label: "Ticket access (agents)", type: "select", options: [["", "default (team)"], ["all", "all"], ["team", "team"], ["assigned", "assigned"]] },
      { key: "availability", label: "Availability (routing assigns available agents)", type: "select", options: [["", "—"], ["available", "available"], ["away", "away"], ["offline", "offline"]], patchOnly: true },
      { key: "organization_id", label: "Organization (customers)", type: "select", options: () => none("None")(orgs) },
      { key: "org_admin", label: "Organization admin (sees the organization's tickets)", type: "checkbox" },
      { key: "notifications", label: "Mail about their tickets", type: "checkbox", default: true },
      { key: "disabled", label: "Disabled (every request answers 403)", type: "checkbox" },
    ],
  },
  {
    key: "organizations", title: "Organizations", singular: "organization", path: "/v1/organizations",
    columns: [["Name", (o) => o.name], ["Domains", (o) => list(o.domains)]],
    fields: [
      { key: "name", label: "Name", required: true },
      { key: "domains", label: "Domains (comma-separated)", type: "list", help: "An unknown sender whose address is at one of these joins the organization.", placeholder: "acme.example" },
    ],
  },
  {
    key: "statuses", title: "Statuses", singular: "status", path: "/v1/statuses",
    intro: "Custom statuses belong to a category; the built-in ones cannot be changed. A status that a pipeline lists cannot be deleted.",
    context: async () => ({ pipelines: await allPipelines() }),
    locked: (s) => s.builtin,
    columns: [["Name", (s) => s.name], ["Category", (s) => s.category], ["Pipelines", pipelinesOf], ["Built in", (s) => (s.builtin ? "yes" : "no")]],
    fields: [
      { key: "name", label: "Name (lowercase letters, digits, _)", required: true, createOnly: true, placeholder: "waiting_on_vendor" },
      { key: "category", label: "Category", type: "select", options: CATEGORIES, default: "open" },
    ],
  },
  {
    key: "pipelines", title: "Pipelines", singular: "pipeline", path: "/v1/pipelines",
    intro: "A ticket's status stays within its pipeline's statuses; new tickets start in the pipeline's first open status. The default pipeline has every status and cannot be changed.",
    locked: (p) => p.builtin,
    columns: [["Name", (p) => p.name], ["Id", (p) => p.id], ["Statuses", (p) => list(p.statuses)], ["Built in", (p) => (p.builtin ? "yes" : "no")]],
    fields: [
      { key: "id", label: "Id (lowercase letters, digits, _ and -)", required: true, createOnly: true, placeholder: "hardware" },
      { key: "name", label: "Name", required: true },
      { key: "statuses", label: "Statuses (in order; at least one open)", type: "checks", ordered: true, options: statusChoices },
    ],
  },
  {
    key: "business-hours", title: "Business hours", singular: "business hours", path: "/v1/business-hours",
    columns: [["Name", (b) => b.name], ["Time zone", (b) => b.timezone], ["Holidays", (b) => String((b.holidays || []).length)]],
    fields: [
      { key: "name", label: "Name", required: true },
      { key: "timezone", label: "Time zone (IANA)", required: true, default: "UTC", placeholder: "Europe/Berlin" },
      { key: "weekly", label: "Weekly hours", widget: weeklyGrid, parse: weeklyValue, toRaw: (v) => v || {} },
      { key: "holidays", label: "Holidays", widget: holidayList, parse: holidaysValue, toRaw: holidaysToRaw },
    ],
  },
  {
    key: "sla-policies", title: "SLA policies", singular: "SLA policy", path: "/v1/sla-policies",
    columns: [["Name", (p) => p.name], ["Position", (p) => String(p.position)], ["Business hours", (p) => p.business_hours_id || "24/7"], ["Pauses in", (p) => list(p.pause_statuses)]],
    fields: [
      { key: "name", label: "Name", required: true },
      { key: "position", label: "Position (lowest matching applies)", type: "number" },
      { key: "business_hours_id", label: "Business hours", type: "select", options: () => none("None: clocks run 24/7")(hours) },
      { key: "pause_statuses", label: "Statuses that pause the clocks (comma-separated)", type: "list", default: "pending" },
      { key: "targets", label: "Targets", widget: targetsGrid, parse: targetsValue, toRaw: (v) => v || {} },
      ...conditionFields(),
    ],
  },
  {
    key: "routing-rules", title: "Routing rules", singular: "routing rule", path: "/v1/routing-rules", paged: false,
    intro: "New tickets go to the team of the first matching rule (lowest position first).",
    columns: [["Name", (r) => r.name], ["Position", (r) => String(r.position)], ["Team", (r) => r.team_id], ["Assignment", (r) => r.assignment]],
    fields: [
      { key: "name", label: "Name", required: true },
      { key: "position", label: "Position", type: "number" },
      { key: "team_id", label: "Team", type: "select", options: () => none("Choose a team")(teams) },
      { key: "assignment", label: "Assignment", type: "select", options: [["none", "none (team queue)"], ["round_robin", "round robin"], ["least_open", "least open tickets"]], default: "none" },
      ...conditionFields([
        { key: "conditions.subject_contains", label: "Subject contains (any of, comma-separated)", type: "list" },
        { key: "conditions.requester_domains", label: "Requester domains (comma-separated)", type: "list" },
      ]),
    ],
  },
  {
    key: "automations", title: "Automations", singular: "automation", path: "/v1/automations", paged: false,
    columns: [["Name", (a) => a.name], ["Trigger", (a) => a.trigger?.event || "—"], ["Active", (a) => (a.active ? "yes" : "no")], ["Built in", (a) => (a.built_in ? "yes" : "no")]],
    fields: [
      { key: "name", label: "Name", required: true },
      { key: "active", label: "Active", type: "checkbox", default: true },
      { key: "position", label: "Position", type: "number" },
      { key: "trigger.event", label: "When", type: "select", options: ["ticket.created", "ticket.updated", "comment.created", "sla.breached", "escalation.stage_changed"].map((v) => [v, v]) },
      { key: "conditions", label: "Conditions (JSON)", type: "json", help: 'e.g. {"priorities": ["urgent"], "channels": ["web"]}' },
      { key: "actions", label: "Actions (JSON list)", type: "json", help: 'e.g. [{"type": "add_tags", "tags": ["vip"]}, {"type": "internal_note", "body": "Call them"}]' },
    ],
  },
  {
    key: "templates", title: "Templates", singular: "template", path: "/v1/templates",
    columns: [["Name", (t) => t.name], ["Body", (t) => (t.body.length > 80 ? `${t.body.slice(0, 80)}…` : t.body)]],
    fields: [
      { key: "name", label: "Name", required: true },
      { key: "body", label: "Body", type: "textarea", help: "Placeholders such as {{ ticket.number }} are filled in for each ticket." },
    ],
  },
  {
    key: "webhooks", title: "Webhooks", singular: "webhook", path: "/v1/webhooks",
    columns: [["URL", (w) => w.url], ["Events", (w) => list(w.events)], ["Active", (w) => (w.active ? "yes" : "no")]],
    fields: [
      { key: "url", label: "URL (https)", required: true, placeholder: "https://hooks.example.com/helpdesk" },
      { key: "events", label: "Events (comma-separated; * for all)", type: "list", default: "*" },
      { key: "active", label: "Active", type: "checkbox", default: true },
    ],
    onCreated: (webhook) =>
      h("div.banner.secret", { role: "status" },
        h("p", {}, h("strong", {}, "Webhook created. "), "Copy its signing secret now: it is shown only this once."),
        h("p", {}, h("code#webhook-secret", {}, webhook.secret))),
  },
];
