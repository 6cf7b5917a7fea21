// The API client: relative URLs (same origin), bearer token from the session, problem+json
// errors as ApiError, ETag/If-Match for versions, a 429 retried after Retry-After, cursor pages.
import { session } from "./session.js";

const MAX_RETRIES = 3;
const MAX_RETRY_WAIT_SECONDS = 30;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.fieldErrors = Array.isArray(problem?.errors) ? problem.errors : [];
  }
}

const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

/** One API call: {data, etag, status}; throws ApiError for every non-2xx answer. */
export async function api(method, path, { body, ifMatch, query, idempotent = true } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (ifMatch !== undefined) headers["If-Match"] = `"${ifMatch}"`;
  // One key per logical POST, reused by its retries, so a retried create never doubles.
  if (method === "POST" && idempotent) headers["Idempotency-Key"] = crypto.randomUUID();
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.status === 429 && attempt < MAX_RETRIES) {
      const wait = Number.parseFloat(response.headers.get("Retry-After") || "1");
      await sleep(Math.min(Number.isFinite(wait) ? wait : 1, MAX_RETRY_WAIT_SECONDS));
      continue;
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    const etag = response.headers.get("ETag");
    return { data, status: response.status, etag: etag ? etag.replaceAll('"', "") : null };
  }
}

/** One page of a list endpoint: {items, nextCursor}. */
export async function page(path, { cursor, ...query } = {}) {
  const { data } = await api("GET", path, { query: { ...query, cursor } });
  return { items: data?.items || [], nextCursor: data?.next_cursor || null };
}
