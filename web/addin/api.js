// Talking to the Journaliser API: the add-in's configuration, the bearer token (Microsoft
// sign-in through nested app authentication, Office SSO or a sign-in dialog, whichever the
// host supports; or the service's own development tokens) and requests whose failures carry
// their HTTP status.

const TOKEN_KEY = "journaliser.token";

/** A failed request: `status` is 0 when the server could not be reached at all. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

/** No token yet; the pane must ask the user to sign in. */
export class SignInNeeded extends Error {}

let config = null;
let msalApp = null;
let cachedToken = null;

/** `/addin/config.json`, relative to the page; development tokens when it cannot be read. */
export async function loadConfig() {
  if (config) return config;
  try {
    const response = await fetch(new URL("config.json", document.baseURI), { cache: "no-store" });
    config = response.ok ? await response.json() : { auth: "dev" };
  } catch {
    config = { auth: "dev" };
  }
  return config;
}

export function authMode() {
  return config?.auth === "entra" ? "entra" : "dev";
}

/**
 * A development token handed over in the address (`#token=…`) moves to session storage and
 * out of the address bar. `fragment.js` does this before Office.js loads, because Office.js
 * replaces `history.replaceState`; this is the fallback for pages without it.
 */
export function takeTokenFromAddress() {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = params.get("token");
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  if (typeof history.replaceState === "function") {
    try {
      history.replaceState(null, "", location.pathname + location.search);
      return;
    } catch {
      // Fall through: clearing the fragment still hides the token.
    }
  }
  location.hash = "";
}

export function setDevToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
  cachedToken = null;
}

function forgetToken() {
  cachedToken = null;
  if (authMode() === "dev") sessionStorage.removeItem(TOKEN_KEY);
}

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = new URL(src, document.baseURI).href;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

function officeSupports(set, version) {
  return Boolean(globalThis.Office?.context?.requirements?.isSetSupported?.(set, version));
}

/**
 * How the pane gets a Microsoft token, as Microsoft's guidance orders them: nested app
 * authentication where Office supports it (`NestedAppAuth` 1.1); else Office's single sign-on
 * (`IdentityAPI` 1.3, `getAccessToken`: a token for our API, which the service accepts as it
 * is and may exchange on the user's behalf); else MSAL in a dialog window (`DialogApi` 1.1).
 * Outside Office, MSAL itself signs in with a popup.
 */
export function signInRoute() {
  if (!globalThis.Office?.context?.requirements) return "msal";
  if (officeSupports("NestedAppAuth", "1.1")) return "msal";
  if (officeSupports("IdentityAPI", "1.3") && globalThis.Office.auth?.getAccessToken) return "sso";
  if (officeSupports("DialogApi", "1.1")) return "dialog";
  return "none";
}

/** Office SSO: silent first; with `interactive`, Office may ask the user to sign in or consent. */
async function ssoToken(interactive) {
  try {
    return await Office.auth.getAccessToken({
      allowSignInPrompt: interactive,
      allowConsentPrompt: interactive,
      forMSGraphAccess: false,
    });
  } catch (error) {
    // 13001: not signed in to Office; 13002: the user cancelled; others are Office's reasons.
    if (!interactive) throw new SignInNeeded(error?.message);
    throw new Error(error?.message ?? `Office sign-in failed (${error?.code})`);
  }
}

/** The dialog API: `signin.html` signs in with MSAL in its own window and sends the token back. */
function dialogToken() {
  const address = new URL("signin.html", document.baseURI).href;
  return new Promise((resolve, reject) => {
    Office.context.ui.displayDialogAsync(address, { height: 60, width: 30, promptBeforeOpen: false }, (opened) => {
      if (opened.status !== Office.AsyncResultStatus.Succeeded) {
        reject(new Error(opened.error?.message ?? "the sign-in window did not open"));
        return;
      }
      const dialog = opened.value;
      dialog.addEventHandler(Office.EventType.DialogMessageReceived, (arg) => {
        dialog.close();
        let message = null;
        try {
          message = JSON.parse(arg.message);
        } catch {
          // Not ours: refused below.
        }
        if (message?.accessToken) resolve(message.accessToken);
        else reject(new Error(message?.error ?? "the sign-in window sent no token"));
      });
      dialog.addEventHandler(Office.EventType.DialogEventReceived, () => reject(new SignInNeeded("the sign-in window was closed")));
    });
  });
}

async function msalToken(interactive) {
  if (!window.msal) await loadScript("vendor/msal-browser.min.js");
  if (!msalApp) {
    msalApp = await window.msal.createNestablePublicClientApplication({
      auth: { clientId: config.client_id, authority: config.authority },
    });
  }
  const request = { scopes: config.scopes };
  try {
    const account = msalApp.getActiveAccount() ?? msalApp.getAllAccounts()[0];
    const result = await msalApp.acquireTokenSilent(account ? { ...request, account } : request);
    return result.accessToken;
  } catch (silentError) {
    if (!interactive) throw new SignInNeeded(silentError.message);
    const result = await msalApp.acquireTokenPopup(request);
    msalApp.setActiveAccount(result.account);
    return result.accessToken;
  }
}

/**
 * A token for the API. `interactive` allows a sign-in prompt, popup or dialog and is set only
 * when the user asked to sign in, so that none appears unbidden.
 */
export async function token({ interactive = false } = {}) {
  if (cachedToken) return cachedToken;
  if (authMode() === "dev") {
    const stored = sessionStorage.getItem(TOKEN_KEY);
    if (!stored) throw new SignInNeeded();
    cachedToken = stored;
    return stored;
  }
  const route = signInRoute();
  if (route === "sso") cachedToken = await ssoToken(interactive);
  else if (route === "dialog") {
    if (!interactive) throw new SignInNeeded();
    cachedToken = await dialogToken();
  } else if (route === "msal") cachedToken = await msalToken(interactive);
  else throw new Error("this version of Office cannot sign in to Microsoft Entra ID");
  return cachedToken;
}

async function request(method, path, { body, contentType } = {}) {
  const headers = { Authorization: `Bearer ${await token()}`, Accept: "application/json" };
  if (contentType) headers["Content-Type"] = contentType;
  let response;
  try {
    response = await fetch(new URL(path, location.origin), { method, headers, body });
  } catch (networkError) {
    throw new ApiError(0, "network", networkError.message);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    if (response.status === 401) forgetToken();
    const error = new ApiError(response.status, json?.code ?? "", json?.message ?? "");
    // A 422 names the field that is wrong, for a form to show the reason beside it.
    error.field = json?.field ?? null;
    error.reason = json?.reason ?? null;
    // A refused import says what is wrong with each row.
    error.body = json;
    throw error;
  }
  return json;
}

export const api = {
  get: (path) => request("GET", path),
  delete: (path) => request("DELETE", path),
  putJson: (path, value) =>
    request("PUT", path, { body: JSON.stringify(value), contentType: "application/json" }),
  postJson: (path, value) =>
    request("POST", path, { body: JSON.stringify(value), contentType: "application/json" }),
  postBytes: (path, bytes, contentType) => request("POST", path, { body: bytes, contentType }),
  /** A file from the browser, sent as multipart so the server sees its name too. */
  postFile: (path, file) => {
    const form = new FormData();
    form.append("file", file, file.name);
    return request("POST", path, { body: form });
  },
};
