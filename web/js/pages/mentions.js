// @notify in the reply box: typing "@" offers the agents (listed on the first "@"), the arrow
// keys move through them, Enter or Tab (or a click) chooses one: "@Name" goes into the text and
// the agent into `notify` (the API notifies them on internal notes only). Chosen agents are
// listed under the box, each with a button to remove them again.
import { h, mount } from "../dom.js";
import { agents } from "../directory.js";

const TYPED = /(?:^|\s)@([^\s@]{0,40})$/u;

export function mentionPicker(textarea, me) {
  const chosen = new Map(); // id -> name
  const options = h("ul#mention-options.mention-options", { role: "listbox", "aria-label": "Agents to notify", hidden: true });
  const list = h("p.notify-list", { "aria-live": "polite" });
  let matches = [];
  let active = 0;
  let typing = 0;
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", "mention-options");

  const close = () => {
    typing += 1; // an answer still on its way opens nothing
    options.hidden = true;
    matches = [];
    textarea.removeAttribute("aria-activedescendant");
  };
  const paintChosen = () =>
    mount(
      list,
      chosen.size ? "Notify: " : null,
      [...chosen].map(([id, name]) =>
        h("span.notify-chip", {}, name, " ", h("button.link", { type: "button", "aria-label": `Do not notify ${name}`, onclick: () => (chosen.delete(id), paintChosen()) }, "×"), " "),
      ),
      chosen.size ? h("span.muted", {}, "(internal notes only)") : null,
    );
  const paintOptions = () => {
    mount(
      options,
      matches.map((u, i) =>
        h(
          "li",
          {
            id: `mention-${i}`,
            role: "option",
            "aria-selected": String(i === active),
            onmousedown: (event) => event.preventDefault(), // keep the focus in the text
            onclick: () => choose(u),
          },
          u.name,
        ),
      ),
    );
    options.hidden = !matches.length;
    if (matches.length) textarea.setAttribute("aria-activedescendant", `mention-${active}`);
    else textarea.removeAttribute("aria-activedescendant");
  };
  const choose = (user) => {
    const at = textarea.selectionStart;
    const before = textarea.value.slice(0, at).replace(/@[^\s@]*$/u, `@${user.name} `);
    textarea.value = before + textarea.value.slice(at);
    textarea.setSelectionRange(before.length, before.length);
    chosen.set(user.id, user.name);
    close();
    paintChosen();
    textarea.dispatchEvent(new Event("input", { bubbles: true })); // the draft keeps the text
  };
  textarea.addEventListener("input", async (event) => {
    if (!event.isTrusted) return;
    const typed = TYPED.exec(textarea.value.slice(0, textarea.selectionStart));
    if (!typed) return close();
    const prefix = typed[1].toLowerCase();
    const asked = ++typing;
    const everyone = await agents();
    if (asked !== typing) return; // a later keystroke answers instead
    matches = everyone.filter((u) => u.id !== me.id && !chosen.has(u.id) && u.name.toLowerCase().includes(prefix)).slice(0, 8);
    active = 0;
    paintOptions();
  });
  textarea.addEventListener("keydown", (event) => {
    if (options.hidden || !matches.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      active = (active + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
      paintOptions();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      choose(matches[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  textarea.addEventListener("blur", close);
  return {
    element: h("div.mentions", {}, options, list),
    value: () => [...chosen.keys()],
    clear: () => (chosen.clear(), paintChosen()),
  };
}
