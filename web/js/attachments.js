// Files on a reply: the API's limits checked in the browser before anything is uploaded (5 per
// message, 500 KB each, the allowed types), then per file the upload slot flow of API.md and
// decisions.md: reserve (POST …/attachments with the reply's comment_id) → POST the file to the
// presigned upload_url with upload_fields → confirm (the API checks the file is there).
import { api } from "./api.js";
import { h } from "./dom.js";

export const MAX_FILES = 5;
export const MAX_BYTES = 512_000;
const TYPES = {
  csv: ["text/csv"], tsv: ["text/tab-separated-values"], txt: ["text/plain"], pdf: ["application/pdf"],
  xlsx: ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"], doc: ["application/msword"],
  docx: ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
  jpg: ["image/jpeg"], jpeg: ["image/jpeg"], png: ["image/png"], gif: ["image/gif"], mp4: ["video/mp4"],
  mov: ["video/quicktime"], har: ["application/json", "application/har+json"],
};

const extension = (name) => (name.includes(".") ? name.split(".").pop().toLowerCase() : "");

/** The content type the API expects for the file's extension (the browser's, when it is one of them). */
export function contentType(file) {
  const allowed = TYPES[extension(file.name)] || [];
  return allowed.includes(file.type) ? file.type : allowed[0];
}

/** The name the API accepts (letters, digits, spaces and . _ - ( )), the rest replaced by "_". */
export function safeName(name) {
  const cleaned = name.replace(/[^A-Za-z0-9 ._()-]/g, "_").replace(/\.\.+/g, ".").replace(/^[^A-Za-z0-9]+/, "");
  return (cleaned || "file").slice(-200);
}

/** What is wrong with these files, one message per problem ([] when they may be uploaded). */
export function problems(files) {
  const found = [];
  if (files.length > MAX_FILES) found.push(`At most ${MAX_FILES} files per message (${files.length} chosen).`);
  for (const file of files) {
    if (!TYPES[extension(file.name)]) found.push(`${file.name}: this type of file is not accepted.`);
    else if (file.size > MAX_BYTES) found.push(`${file.name}: larger than 500 KB.`);
    else if (file.size === 0) found.push(`${file.name}: the file is empty.`);
  }
  return found;
}

/** A file input whose choice is checked at once; `error` is where the problems show. */
export function filePicker(error) {
  const input = h("input#reply-files", {
    type: "file",
    multiple: true,
    accept: Object.keys(TYPES).map((ext) => `.${ext}`).join(","),
    "aria-describedby": "reply-error",
  });
  input.addEventListener("change", () => {
    error.textContent = problems([...input.files]).join(" ");
  });
  return h("div.files", {}, h("label", { for: "reply-files" }, "Attach files (up to 5, 500 KB each)"), input);
}

/** Upload `files` onto the comment: reserve, post to storage, confirm; answers the confirmed attachments. */
export async function uploadAll(ticketId, commentId, files) {
  const base = `/v1/tickets/${encodeURIComponent(ticketId)}/attachments`;
  const done = [];
  for (const file of files) {
    const { data: slot } = await api("POST", base, {
      body: { filename: safeName(file.name), content_type: contentType(file), size: file.size, comment_id: commentId },
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(slot.upload_fields || {})) form.append(name, value);
    form.append("file", file);
    // Storage is another origin: the answer is opaque (no CORS needed); the confirm is the check.
    await fetch(slot.upload_url, { method: "POST", body: form, mode: "no-cors", credentials: "omit" });
    done.push((await api("POST", `${base}/${encodeURIComponent(slot.id)}/confirm`)).data);
  }
  return done;
}

/** A message's files by name; a click asks the API for a fresh download link and opens it. */
export function attachmentList(ticketId, attachments) {
  return h(
    "ul.attach-list",
    { "aria-label": "Attachments" },
    attachments.map((file) =>
      h(
        "li",
        {},
        h(
          "button.link",
          {
            type: "button",
            onclick: async () => {
              const { data } = await api("GET", `/v1/tickets/${encodeURIComponent(ticketId)}/attachments/${encodeURIComponent(file.id)}`);
              if (/^https?:/i.test(data.download_url || "")) window.open(data.download_url, "_blank", "noopener");
            },
          },
          file.filename,
        ),
        ` (${Math.max(1, Math.round((file.size || 0) / 1024))} KB)`,
      ),
    ),
  );
}
