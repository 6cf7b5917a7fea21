// Cloud sign-in: Cognito's hosted UI with the authorization-code flow and PKCE (RFC 7636).
// Enabled when /app/config.json says {"auth": "cognito", "domain", "clientId", "redirectUri"}
// (make deploy-web writes it; locally it says "local" and the demo-user sign-in stays).
// Tokens live in this module's memory only (never localStorage); the PKCE verifier and state
// wait in sessionStorage for the one redirect, and are removed when it returns.
const PENDING = "pkce:pending";
const REFRESH_MARGIN_SECONDS = 120;

let tokens = null;
let refreshTimer = null;

export function base64url(bytes) {
  let text = "";
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** A fresh code verifier: 32 random bytes, base64url (43 characters, RFC 7636 §4.1). */
export function newVerifier() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** code_challenge = BASE64URL(SHA256(ASCII(code_verifier))), method S256. */
export async function challengeOf(verifier) {
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
}

/** Milliseconds from now until the tokens are refreshed: `margin` before they expire, never negative. */
export function refreshDelay(expiresInSeconds, margin = REFRESH_MARGIN_SECONDS) {
  return Math.max(0, (expiresInSeconds - Math.min(margin, expiresInSeconds / 2)) * 1000);
}

export async function loadConfig() {
  try {
    const response = await fetch("config.json", { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!response.ok) return { auth: "local" };
    return await response.json();
  } catch {
    return { auth: "local" };
  }
}

/** The hosted UI address to send the browser to; remembers verifier and state for the return. */
export async function authorizeUrl(config, returnTo, storage = sessionStorage) {
  const verifier = newVerifier();
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  storage.setItem(PENDING, JSON.stringify({ verifier, state, returnTo }));
  const url = new URL("/oauth2/authorize", config.domain);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.clientId,
    redirect_uri: config.redirectUri,
    scope: "openid email profile aws.cognito.signin.user.admin",
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  }).toString();
  return url.toString();
}

/**
 * The return from the hosted UI (`?code=…&state=…`): the pending verifier for a matching state,
 * or an Error. The pending entry is removed either way, so a code is redeemed at most once.
 */
export function takePending(search, storage = sessionStorage) {
  const params = new URLSearchParams(search);
  const raw = storage.getItem(PENDING);
  storage.removeItem(PENDING);
  if (params.get("error")) throw new Error(params.get("error_description") || params.get("error"));
  const pending = raw ? JSON.parse(raw) : null;
  if (!pending || !params.get("state") || params.get("state") !== pending.state) {
    throw new Error("The sign-in answer does not match a sign-in started here (state mismatch): start again.");
  }
  return { code: params.get("code"), verifier: pending.verifier, returnTo: pending.returnTo };
}

async function tokenRequest(config, form) {
  const response = await fetch(new URL("/oauth2/token", config.domain), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: config.clientId, ...form }).toString(),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error_description || data.error || `token endpoint answered ${response.status}`);
  return data;
}

/** Redeems the code for tokens and keeps them (in memory), refreshing them before expiry. */
export async function redeem(config, { code, verifier }, onRefresh) {
  const data = await tokenRequest(config, { grant_type: "authorization_code", code, redirect_uri: config.redirectUri, code_verifier: verifier });
  keep(config, data, onRefresh);
  return tokens;
}

function keep(config, data, onRefresh) {
  tokens = { idToken: data.id_token, accessToken: data.access_token, refreshToken: data.refresh_token || tokens?.refreshToken };
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    try {
      keep(config, await tokenRequest(config, { grant_type: "refresh_token", refresh_token: tokens.refreshToken }), onRefresh);
      onRefresh(tokens);
    } catch {
      forget();
      onRefresh(null);
    }
  }, refreshDelay(Number(data.expires_in) || 3600));
}

export function forget() {
  clearTimeout(refreshTimer);
  tokens = null;
}

export function currentTokens() {
  return tokens;
}

// TOTP enrolment (admins must have it; anyone may): Cognito's user API with the access token.
function idpEndpoint(config) {
  const region = config.region || new URL(config.domain).hostname.split(".auth.")[1]?.split(".")[0];
  return `https://cognito-idp.${region}.amazonaws.com/`;
}

async function idp(config, target, body) {
  const response = await fetch(idpEndpoint(config), {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}` },
    body: JSON.stringify({ AccessToken: tokens?.accessToken, ...body }),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message || data.__type || `Cognito answered ${response.status}`);
  return data;
}

/** A new TOTP secret for the signed-in user (to type or paste into an authenticator app). */
export async function startTotp(config) {
  return (await idp(config, "AssociateSoftwareToken", {})).SecretCode;
}

/** Verifies the app's first code and makes TOTP the user's preferred MFA (challenged at every sign-in). */
export async function confirmTotp(config, code) {
  await idp(config, "VerifySoftwareToken", { UserCode: code, FriendlyDeviceName: "Helpdesk" });
  await idp(config, "SetUserMFAPreference", { SoftwareTokenMfaSettings: { Enabled: true, PreferredMfa: true } });
}
