// The business-hours widgets: a weekly grid (any number of shifts a day, so split shifts are two
// rows), holidays as single days or ranges, and the SLA targets per priority. Each keeps its raw
// state as plain data (drafts) and answers the API's shape.
import { h } from "../dom.js";
import { changed } from "./fields.js";

export const DAYS = [["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"], ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"]];
const CLOCK = "^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$";

function errorLine(id) {
  return h(`p.error#${id}`);
}

export const weeklyValue = (raw) => Object.fromEntries(DAYS.map(([day]) => [day, (raw?.[day] || []).filter((s) => s[0] || s[1]).map((s) => [...s])]));

export function weeklyGrid(field, raw) {
  const state = Object.fromEntries(DAYS.map(([day]) => [day, (raw?.[day] || []).map((s) => [...s])]));
  const rows = {};
  const errors = {};
  const body = h("div.week");
  const renderDay = (day, name) => {
    const shifts = state[day].map((shift, i) => {
      const input = (j, what) => {
        const el = h("input.clock", {
          type: "text", inputmode: "numeric", size: 5, pattern: CLOCK, placeholder: j ? "17:00" : "09:00",
          "aria-label": `${name} shift ${i + 1} ${what}`, "aria-describedby": `hours-${day}-error`,
        });
        el.value = shift[j] || "";
        el.addEventListener("input", () => { shift[j] = el.value.trim(); });
        return el;
      };
      return h(
        "li.shift", {},
        input(0, "start"), h("span", { "aria-hidden": "true" }, "–"), input(1, "end"),
        h("button.link", { type: "button", "aria-label": `Remove ${name} shift ${i + 1}`, onclick: () => { state[day].splice(i, 1); rerender(day, name); } }, "Remove"),
      );
    });
    return [
      h("ul.shifts", { "aria-label": `${name} shifts` }, shifts.length ? shifts : h("li.muted", {}, "Closed")),
      h("button", { type: "button", "aria-label": `Add a ${name} shift`, onclick: () => { state[day].push(["", ""]); rerender(day, name, true); } }, "Add shift"),
    ];
  };
  const rerender = (day, name, focusLast) => {
    rows[day].replaceChildren(h("span.day", {}, name), ...renderDay(day, name), errors[day]);
    if (focusLast) rows[day].querySelector("li.shift:last-child input")?.focus();
    changed(body);
  };
  for (const [day, name] of DAYS) {
    errors[day] = errorLine(`hours-${day}-error`);
    rows[day] = h("div.day-row", {}, h("span.day", {}, name), ...renderDay(day, name), errors[day]);
    body.append(rows[day]);
  }
  const error = errorLine("f-weekly-error");
  const element = h("fieldset.field.weekly", {}, h("legend", {}, field.label), h("p.muted", {}, "Times are HH:MM in the hours' time zone; 24:00 ends a day. Two shifts in one day make a split shift."), body, error);
  return {
    element,
    raw: () => Object.fromEntries(DAYS.map(([day]) => [day, state[day].map((s) => [...s])])),
    value: () => weeklyValue(state),
    setError(message, subpath) {
      if (!message) {
        for (const line of [...Object.values(errors), error]) line.textContent = "";
        for (const input of body.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
        return;
      }
      const [, day, shift, end] = /^\.?(mon|tue|wed|thu|fri|sat|sun)(?:\[(\d+)\](?:\[(\d+)\])?)?/.exec(subpath || "") || [];
      (day ? errors[day] : error).textContent = message;
      if (!day) return;
      const shifts = rows[day].querySelectorAll("li.shift");
      const inputs = shift === undefined ? [...rows[day].querySelectorAll("input")] : [...(shifts[Number(shift)]?.querySelectorAll("input") || [])];
      for (const input of end === undefined ? inputs : inputs.slice(Number(end), Number(end) + 1)) input.setAttribute("aria-invalid", "true");
    },
  };
}

export const holidaysValue = (raw) =>
  (raw || []).map(({ kind, date, start, end, name }) => {
    const out = kind === "range" ? { start: start || "", end: end || "" } : { date: date || "" };
    if (name) out.name = name;
    return out;
  });

export function holidayList(field, raw) {
  const state = (raw || []).map((holiday) => ({ ...holiday }));
  const list = h("ul.holidays");
  const error = errorLine("f-holidays-error");
  const render = (focus) => {
    list.replaceChildren(
      ...state.map((holiday, i) => {
        const n = i + 1;
        const kind = h("select", { "aria-label": `Holiday ${n} kind` }, h("option", { value: "day", selected: holiday.kind !== "range" }, "One day"), h("option", { value: "range", selected: holiday.kind === "range" }, "Range"));
        kind.addEventListener("change", () => { holiday.kind = kind.value; render(); });
        const date = (key, label) => {
          const el = h("input", { type: "date", "aria-label": `Holiday ${n} ${label}`, "aria-describedby": "f-holidays-error" });
          el.value = holiday[key] || "";
          el.addEventListener("input", () => { holiday[key] = el.value; });
          return el;
        };
        const name = h("input", { type: "text", "aria-label": `Holiday ${n} name`, placeholder: "Name (optional)", maxlength: 100 });
        name.value = holiday.name || "";
        name.addEventListener("input", () => { holiday.name = name.value; });
        return h(
          "li.holiday", {}, kind,
          holiday.kind === "range" ? [date("start", "first day"), h("span", { "aria-hidden": "true" }, "to"), date("end", "last day")] : date("date", "date"),
          name,
          h("button.link", { type: "button", "aria-label": `Remove holiday ${n}`, onclick: () => { state.splice(i, 1); render(); } }, "Remove"),
        );
      }),
    );
    if (focus) list.querySelector("li:last-child select")?.focus();
    changed(list);
  };
  render();
  const add = h("button", { type: "button", onclick: () => { state.push({ kind: "day" }); render(true); } }, "Add holiday");
  const element = h("fieldset.field", {}, h("legend", {}, field.label), list, add, error);
  return {
    element,
    raw: () => state.map((holiday) => ({ ...holiday })),
    value: () => holidaysValue(state),
    setError(message, subpath) {
      const row = /^\[(\d+)\]/.exec(subpath || "")?.[1];
      error.textContent = message ? `${row !== undefined ? `Holiday ${Number(row) + 1}: ` : ""}${message}` : "";
    },
  };
}

/** API holidays → raw rows (the kind is implied by which keys are there). */
export const holidaysToRaw = (holidays) => (holidays || []).map((x) => (x.start ? { kind: "range", ...x } : { kind: "day", ...x }));

const PRIORITIES = ["low", "normal", "high", "urgent"];
const GOALS = [["first_response_minutes", "First response"], ["next_response_minutes", "Next response"], ["resolution_minutes", "Resolution"]];

export function targetsValue(raw) {
  const out = {};
  for (const p of PRIORITIES) {
    const goals = Object.fromEntries(GOALS.filter(([g]) => (raw?.[p]?.[g] ?? "") !== "").map(([g]) => [g, Number(raw[p][g])]));
    if (Object.keys(goals).length) out[p] = goals;
  }
  return out;
}

export function targetsGrid(field, raw) {
  const state = Object.fromEntries(PRIORITIES.map((p) => [p, Object.fromEntries(GOALS.map(([g]) => [g, raw?.[p]?.[g] ?? ""]))]));
  const error = errorLine("f-targets-error");
  const table = h(
    "table.targets", {},
    h("caption", {}, `${field.label} (business minutes)`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Priority"), GOALS.map(([, label]) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, PRIORITIES.map((p) => h("tr", {}, h("th", { scope: "row" }, p), GOALS.map(([g, label]) => {
      const input = h("input", { type: "number", min: 1, "aria-label": `${p} ${label} minutes`, "aria-describedby": "f-targets-error" });
      input.value = state[p][g] === "" ? "" : String(state[p][g]);
      input.addEventListener("input", () => { state[p][g] = input.value; });
      return h("td", {}, input);
    })))),
  );
  return {
    element: h("div.field", {}, h("div.table-wrap", {}, table), error),
    raw: () => JSON.parse(JSON.stringify(state)),
    value: () => targetsValue(state),
    setError(message) {
      error.textContent = message || "";
    },
  };
}
