// The player of a record page (/items/{id}, and /embed/{id} in another
// site's iframe). Anyone sees the metadata; the licence lets only a
// signed-in teacher or pupil play, so the page signs the viewer in (the
// code flow with PKCE, as the search page does; in a popup when framed,
// since identity providers refuse to be framed) and plays the browse copy
// from a short-lived address the API gives such a viewer only.
"use strict";

(async function () {
  const box = document.getElementById("player");
  if (!box) return;
  const video = document.getElementById("video");
  const signin = document.getElementById("signin");
  const status = document.getElementById("play-status");
  const id = box.dataset.id;
  const start = box.dataset.start ? Number(box.dataset.start) : null;
  const end = box.dataset.end ? Number(box.dataset.end) : null;
  const say = (text) => { status.textContent = text; };

  let cfg;
  try {
    const res = await fetch("/api/signon");
    if (!res.ok) return; // this server signs no one in: the link stays
    cfg = await res.json();
  } catch (e) {
    return;
  }
  // The page comes back to itself, its fragment included (the server
  // renders it): the sign-in's own parameters are all that is dropped.
  const kept = new URLSearchParams(location.search);
  for (const k of ["code", "state", "session_state", "iss", "popup", "error", "error_description"]) kept.delete(k);
  const here = location.origin + location.pathname;
  const self = here + (kept.toString() ? "?" + kept : "");
  const framed = window.top !== window.self;
  const signOn = new oidc.UserManager({
    authority: cfg.issuer, client_id: cfg.client_id, redirect_uri: self,
    popup_redirect_uri: here + "?popup=1", response_type: "code", scope: "openid profile",
    userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
  });

  const p = new URLSearchParams(location.search);
  if (p.has("code") && p.has("state")) {
    if (p.has("popup")) {
      // The popup's end of a framed sign-in: hand the answer to the frame.
      await signOn.signinPopupCallback();
      return;
    }
    try {
      await signOn.signinRedirectCallback();
    } catch (e) {
      say("Aanmelden is mislukt: " + (e && e.message || e));
    }
    history.replaceState(null, "", self);
  }

  let token = "";
  const user = await signOn.getUser();
  if (user && !user.expired) token = user.access_token;

  signin.addEventListener("click", async (ev) => {
    ev.preventDefault();
    try {
      if (framed) {
        const u = await signOn.signinPopup();
        token = u.access_token;
        await load(true);
      } else {
        await signOn.signinRedirect();
      }
    } catch (e) {
      say("Aanmelden is mislukt: " + (e && e.message || e));
    }
  });

  // load asks the API where to play from; play starts it (after the
  // viewer's click, or at once when they just signed in for it).
  let expires = 0;
  async function load(play) {
    if (!token) return;
    const q = new URLSearchParams();
    if (start !== null) q.set("start", start);
    if (end !== null) q.set("end", end);
    const res = await fetch("/api/items/" + encodeURIComponent(id) + "/play?" + q, {
      headers: { Authorization: "Bearer " + token },
    });
    if (res.status === 401) {
      token = "";
      await signOn.removeUser();
      signin.parentElement.hidden = false;
      say("Je aanmelding is verlopen: meld je opnieuw aan.");
      return;
    }
    const body = await res.json();
    if (!res.ok) {
      say(body.error || res.statusText);
      return;
    }
    signin.parentElement.hidden = true;
    const at = video.currentTime > 0 ? video.currentTime : (start || 0);
    expires = Date.parse(body.expires_at);
    // A media fragment (#t=) makes the browser start at the fragment.
    video.src = body.url + "#t=" + (start || 0) + (end !== null ? "," + end : "");
    video.hidden = false;
    video.addEventListener("loadedmetadata", () => {
      if (at > 0 && Math.abs(video.currentTime - at) > 0.5) video.currentTime = at;
      if (play) video.play().catch(() => {});
    }, { once: true });
    say(end !== null ? "Fragment tot " + end + " s." : "");
  }

  // Keep to the fragment: stop at its end.
  video.addEventListener("timeupdate", () => {
    if (end !== null && video.currentTime >= end) {
      video.pause();
      video.currentTime = end;
    }
  });
  // An address that expired while paused: ask for a new one.
  video.addEventListener("error", () => {
    if (token && Date.now() >= expires) load(false);
  });

  await load(false);
})();
