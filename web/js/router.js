// A hash router: "#/tickets/abc" → the first route whose pattern matches, with its params.
const routes = [];

export function route(pattern, render) {
  const names = [];
  const regex = new RegExp(
    "^" + pattern.replace(/:([a-z]+)/g, (_, name) => (names.push(name), "([^/]+)")) + "$",
  );
  routes.push({ regex, names, render });
}

export function navigate(path) {
  if (window.location.hash === `#${path}`) dispatch();
  else window.location.hash = path;
}

export function currentPath() {
  return window.location.hash.replace(/^#/, "") || "/";
}

let fallback = () => {};

export function start(onUnknown) {
  fallback = onUnknown;
  window.addEventListener("hashchange", dispatch);
  dispatch();
}

function dispatch() {
  const path = currentPath().split("?")[0];
  for (const { regex, names, render } of routes) {
    const match = regex.exec(path);
    if (match) {
      const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
      render(params);
      return;
    }
  }
  fallback(path);
}
