// The directory (users, teams), asked once per page, and the workspace settings, asked once per
// signed-in user; each only when needed (a picker's first focus, a history opened, "@" typed), so
// a ticket page still opens with its three requests. A refusal (403) leaves an empty list.
import { api } from "./api.js";
import { session } from "./session.js";

const cache = new Map();

function once(name, load) {
  const key = `${session.user?.id}:${name}`;
  if (!cache.has(key)) cache.set(key, load().catch(() => null)); // a refusal is remembered too: asked once
  return cache.get(key);
}

const names = new Map();

/** A new page asks the directory afresh (an admin may have added someone); the settings stay. */
export function forgetDirectory() {
  for (const key of [...cache.keys()]) if (!key.endsWith(":settings")) cache.delete(key);
  names.clear();
}

/** Every user the caller may list (first 100): [{id, name, role, email…}]. */
export async function users() {
  const items = (await once("users", async () => (await api("GET", "/v1/users", { query: { limit: 100 } })).data.items)) || [];
  for (const u of items) names.set(u.id, u.name);
  return items;
}

/** The agents and admins (who can be @notified or filtered by). */
export const agents = async () => (await users()).filter((u) => u.role !== "customer");

export const teams = async () => (await once("teams", async () => (await api("GET", "/v1/teams", { query: { limit: 100 } })).data.items)) || [];

/** A user's name once the directory is loaded (null before, or for someone not listed). */
export const knownName = (id) => names.get(id) ?? null;

const replyDefaults = new Map();

/** Ask the admin's default reply type once per signed-in agent (before their first page). */
export async function loadReplyDefault() {
  const settings = await once("settings", async () => (await api("GET", "/v1/settings")).data);
  replyDefaults.set(session.user?.id, settings?.default_reply_visibility === "internal" ? "internal" : "public");
}

/** The reply box's starting type: the admin's default reply type, "public" when unknown. */
export const replyDefault = () => replyDefaults.get(session.user?.id) || "public";
