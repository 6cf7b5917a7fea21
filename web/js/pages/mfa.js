// Set up TOTP MFA (cloud sign-in only): admins get no admin token without it (docs/decisions.md).
import * as cognito from "../cognito.js";
import { h, mount } from "../dom.js";

export async function renderMfa(main) {
  document.title = "Set up MFA · Helpdesk";
  const config = await cognito.loadConfig();
  if (config.auth !== "cognito" || !cognito.currentTokens()) {
    mount(main, h("h1", {}, "Set up MFA"), h("p", {}, "MFA is set up with the cloud sign-in; the local stack has none."));
    return;
  }
  const error = h("p.error", { role: "alert" });
  const secret = h("code.secret");
  const code = h("input", { id: "mfa-code", inputmode: "numeric", autocomplete: "one-time-code", pattern: "[0-9]{6}", maxlength: "6" });
  const done = h("p", { role: "status" });
  const start = async () => {
    error.textContent = "";
    try {
      secret.textContent = await cognito.startTotp(config);
    } catch (exc) {
      error.textContent = `Could not start: ${exc.message}`;
    }
  };
  const confirm = async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await cognito.confirmTotp(config, code.value.trim());
      done.textContent = "MFA is on: every sign-in now asks for a code from your app.";
    } catch (exc) {
      error.textContent = `Not verified: ${exc.message}`;
    }
  };
  mount(
    main,
    h("h1", {}, "Set up MFA"),
    h("p", {}, "1. Get a secret and add it to an authenticator app (TOTP)."),
    h("p", {}, h("button", { type: "button", onclick: start }, "Get a secret"), " ", secret),
    h(
      "form",
      { onsubmit: confirm },
      h("label", { for: "mfa-code" }, "2. The 6-digit code your app shows"),
      " ",
      code,
      " ",
      h("button", { type: "submit" }, "Verify"),
    ),
    error,
    done,
  );
}
