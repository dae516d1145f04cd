// Posts the key as JSON (never in a URL), then opens the dashboard.
"use strict";
document.getElementById("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("key");
  const message = document.getElementById("message");
  message.textContent = "Signing in…";
  try {
    const res = await fetch("/devproxy/api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ key: input.value.trim() }),
    });
    input.value = "";
    if (res.ok) {
      location.assign("/devproxy/");
      return;
    }
    const body = await res.json().catch(() => ({}));
    message.textContent = body.message || "Sign-in failed (" + res.status + ").";
  } catch (err) {
    message.textContent = "Sign-in failed: " + err;
  }
});
