// Who is signed in. The token lives in this module's memory only: never localStorage, never
// sessionStorage, so a reload signs out (drafts survive in sessionStorage; see drafts.js).
let current = null;

export const session = {
  get user() {
    return current;
  },
  get token() {
    return current?.token ?? null;
  },
  signIn(user) {
    current = user;
  },
  signOut() {
    current = null;
  },
  isStaff() {
    return current !== null && current.role !== "customer";
  },
};
