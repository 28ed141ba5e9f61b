// The pages' one way to call the API: same origin, the sw_session cookie, the contract's error shape.

import { lang, t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, code, message, fields = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** A short text for the user, in the page's language. */
  get userText() {
    const known = t(`error.${this.code}`);
    if (known !== `error.${this.code}`) return known;
    // The server's bilingual messages read "中文 / English": the half in the page's language.
    const both = /^(.*[\u4e00-\u9fff].*?) \/ (.+)$/s.exec(this.message ?? "");
    if (both) return lang() === "en" ? both[2] : both[1];
    return this.message || t("common.error");
  }
}

/** Call `/api/v1{path}`; JSON in and out; throws ApiError (status 0 for network errors). */
export async function api(path, { method = "GET", body, signal } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" }, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network", t("error.network"));
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const e = data?.error ?? {};
    throw new ApiError(response.status, e.code ?? String(response.status), e.message ?? "", e.fields ?? []);
  }
  return data;
}

/** Send the browser to the login page, coming back here afterwards. */
export function toLogin() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/ui/login?next=${next}`);
}

/** The caller (`GET /me`), or a trip to the login page when not logged in. */
export async function requireLogin() {
  try {
    return await api("/me");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) toLogin();
    throw err;
  }
}

export async function logout() {
  try {
    await api("/auth/logout", { method: "POST" });
  } finally {
    location.assign("/ui/login");
  }
}

/** The pages' own settings (map tiles), from the server. */
export async function pageConfig() {
  const response = await fetch("/ui/config.json", { credentials: "same-origin" });
  return response.ok ? response.json() : {};
}
