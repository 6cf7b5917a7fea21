// Reply drafts per ticket and user in sessionStorage: they survive a reload of the tab (and a
// failed send), and go with the tab. Bodies never reach localStorage.
const key = (userId, ticketId) => `draft:${userId}:${ticketId}`;

export function loadDraft(userId, ticketId) {
  try {
    return JSON.parse(sessionStorage.getItem(key(userId, ticketId)) || "null");
  } catch {
    return null;
  }
}

export function saveDraft(userId, ticketId, draft) {
  if (!draft.body) sessionStorage.removeItem(key(userId, ticketId));
  else sessionStorage.setItem(key(userId, ticketId), JSON.stringify(draft));
}

export function clearDraft(userId, ticketId) {
  sessionStorage.removeItem(key(userId, ticketId));
}
