// Log in: POST /auth/token sets the sw_session cookie; then back to where the user came from,
// or to the page of their role.

import { ApiError, api } from "./api.js";
import { $ } from "./dom.js";
import { applyI18n, bindLangSwitch, t } from "./i18n.js";

function destination(role) {
  const next = new URLSearchParams(location.search).get("next");
  // Only paths of this site: never an open redirect.
  if (next && next.startsWith("/ui/") && !next.startsWith("//")) return next;
  return role === "installer" ? "/ui/install" : "/ui/board";
}

applyI18n();
bindLangSwitch($("#lang"));
$("#login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = $("#login-error");
  error.hidden = true;
  try {
    const answer = await api("/auth/token", {
      method: "POST",
      body: { username: $("#username").value.trim(), password: $("#password").value },
    });
    location.assign(destination(answer.user?.role));
  } catch (err) {
    error.textContent = err instanceof ApiError && (err.status === 401 || err.status === 422)
      ? t("login.failed") : err.userText ?? String(err);
    error.hidden = false;
  }
});
// A wall screen: an API key made for it becomes a long-lived session (revoked with the key).
$("#display-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = $("#display-error");
  error.hidden = true;
  try {
    await api("/auth/display", { method: "POST", body: { api_key: $("#display-key").value.trim() } });
    location.assign("/ui/board");
  } catch (err) {
    error.textContent = err instanceof ApiError && (err.status === 401 || err.status === 422)
      ? t("login.display_failed") : err.userText ?? String(err);
    error.hidden = false;
  }
});
document.body.dataset.ready = "1";
