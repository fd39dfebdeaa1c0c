// The search page: it only calls the JSON API, as any frontend would.
"use strict";

const facetNames = {
  type: "Type", level: "Onderwijsniveau", degree: "Graad", subject: "Vak", theme: "Thema",
  series: "Reeks", provider: "Aanbieder", language: "Taal", keyword: "Trefwoord",
};
const state = { q: "", scope: "teacher", primary: false, sort: "relevance", from: 0, size: 20, filters: {} };
const $ = (id) => document.getElementById(id);

// Sign-on: the code flow with PKCE at the server's identity provider
// (oidc-client-ts); the access token goes with every API call.
let signOn = null;
let accessToken = "";

function api(url) {
  return fetch(url, accessToken ? { headers: { Authorization: "Bearer " + accessToken } } : {});
}

async function setupSignOn() {
  let cfg;
  try {
    const res = await fetch("/api/signon");
    if (!res.ok) return;
    cfg = await res.json();
  } catch (e) {
    return;
  }
  const here = location.origin + location.pathname;
  signOn = new oidc.UserManager({
    authority: cfg.issuer, client_id: cfg.client_id, redirect_uri: here, post_logout_redirect_uri: here,
    response_type: "code", scope: "openid profile",
    userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
  });
  const p = new URLSearchParams(location.search);
  if (p.has("code") && p.has("state")) {
    try {
      const user = await signOn.signinRedirectCallback();
      history.replaceState(null, "", location.pathname + (user.state || ""));
    } catch (e) {
      history.replaceState(null, "", location.pathname);
      $("account").dataset.error = String(e && e.message || e);
      console.error("sign-in failed", e);
    }
  }
  const user = await signOn.getUser();
  if (user && !user.expired) accessToken = user.access_token;
  await showAccount();
}

// showAccount shows who is signed in; a pupil sees the pupil view only.
async function showAccount() {
  $("account").hidden = false;
  $("signin").hidden = !!accessToken;
  $("signout").hidden = !accessToken;
  $("who").textContent = "";
  delete $("who").dataset.view;
  if (!accessToken) return;
  const res = await api("/api/me");
  if (!res.ok) {
    accessToken = "";
    return showAccount();
  }
  const me = await res.json();
  $("who").textContent = me.user.name || me.user.id;
  $("who").dataset.view = me.view;
  if (me.view === "pupil") {
    state.scope = "pupil";
    $("scope").value = "pupil";
    $("scope").disabled = true;
    $("primary-label").hidden = false;
  }
}

$("signin").addEventListener("click", () => signOn.signinRedirect({ state: location.search }));
$("signout").addEventListener("click", async () => {
  await signOn.removeUser();
  accessToken = "";
  location.assign(location.pathname);
});

function params() {
  const p = new URLSearchParams();
  if (state.q) p.set("q", state.q);
  p.set("scope", state.scope);
  if (state.scope === "pupil" && state.primary) p.set("primary", "true");
  p.set("sort", state.sort);
  p.set("from", state.from);
  p.set("size", state.size);
  for (const [name, values] of Object.entries(state.filters)) {
    for (const v of values) p.append(name, v);
  }
  return p;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "text") e.textContent = v;
    else if (k === "html") e.innerHTML = v; // only highlights, escaped by the API
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c) e.append(c);
  return e;
}

async function run() {
  $("status").className = "";
  $("status").textContent = "Zoeken…";
  const p = params();
  history.replaceState(null, "", "?" + p.toString());
  let res, body;
  try {
    res = await api("/api/search?" + p.toString());
    body = await res.json();
  } catch (e) {
    return fail("De zoekdienst antwoordt niet.");
  }
  if (!res.ok) return fail(problem(res.status));
  render(body);
}

// problem says in Dutch what went wrong, and what a teacher can do.
function problem(status) {
  switch (status) {
    case 400: return "Deze zoekopdracht kan niet: pas de zoekterm of de filters aan.";
    case 401: return "Meld je aan om te zoeken.";
    case 403: return "Dit mag je met je account niet bekijken.";
    case 429: return "Je zoekt erg snel na elkaar. Wacht even en probeer opnieuw.";
    case 404: return "Dit item bestaat niet (meer).";
    case 503: return "De zoekdienst is even niet bereikbaar. Probeer het over enkele ogenblikken opnieuw.";
    case 504: return "Het zoeken duurde te lang. Probeer minder woorden of minder filters.";
    default: return "Er ging iets mis bij het zoeken. Probeer het later opnieuw.";
  }
}

function fail(msg) {
  $("status").className = "error";
  $("status").textContent = msg;
  delete $("status").dataset.total;
  $("results").replaceChildren();
  $("facets").replaceChildren();
  $("page").textContent = "";
  $("prev").disabled = true;
  $("next").disabled = true;
}

// dutchDate writes a date of the API (a year, a month or a day) the way a
// Flemish reader does: "2 september 2019", "september 2019", "2019".
const months = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"];
function dutchDate(d) {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(d || "");
  if (!m) return d || "";
  if (!m[2]) return m[1];
  const month = months[parseInt(m[2], 10) - 1];
  if (!m[3]) return month + " " + m[1];
  return parseInt(m[3], 10) + " " + month + " " + m[1];
}

function render(body) {
  $("status").className = "";
  $("status").textContent = body.total === 1 ? "1 resultaat" : body.total + " resultaten";
  $("status").dataset.total = body.total;
  $("results").replaceChildren(...body.hits.map(hit));
  if (body.total === 0) $("results").replaceChildren(empty());
  const facets = [];
  // Facets in the order a teacher narrows down: what, for whom, about what.
  for (const name of Object.keys(facetNames)) {
    const buckets = body.facets[name] || [];
    if (!buckets.length) continue;
    facets.push(el("h2", { text: facetNames[name] || name }));
    facets.push(el("ul", { "data-facet": name }, ...buckets.map((b) => facetItem(name, b))));
  }
  $("facets").replaceChildren(...facets);
  const page = Math.floor(state.from / state.size) + 1;
  const pages = Math.max(1, Math.ceil(Math.min(body.total, 10000) / state.size));
  $("page").textContent = "pagina " + page + " van " + pages;
  $("prev").disabled = state.from === 0;
  $("next").disabled = state.from + state.size >= Math.min(body.total, 10000);
}

// empty suggests what to try when nothing was found.
function empty() {
  const tips = [el("li", { text: "Controleer de spelling, of gebruik minder of andere woorden." })];
  if (Object.keys(state.filters).length) {
    const clear = el("button", { type: "button", id: "clear-filters", text: "Wis alle filters" });
    clear.addEventListener("click", () => { state.filters = {}; state.from = 0; run(); });
    tips.push(el("li", {}, "Zoek met minder filters. ", clear));
  }
  if (state.scope === "pupil") tips.push(el("li", { text: "Zoek als leerkracht: leerlingen zien alleen video en audio." }));
  return el("li", { class: "empty" }, el("p", { text: "Niets gevonden voor deze zoekopdracht." }), el("ul", {}, ...tips));
}

function facetItem(name, b) {
  const chosen = (state.filters[name] || []).includes(b.value);
  const button = el("button", { type: "button", "aria-pressed": String(chosen), "data-value": b.value },
    b.label + " ", el("span", { class: "count", text: "(" + b.count + ")" }));
  button.addEventListener("click", () => {
    const values = state.filters[name] || [];
    state.filters[name] = chosen ? values.filter((v) => v !== b.value) : values.concat(b.value);
    if (!state.filters[name].length) delete state.filters[name];
    state.from = 0;
    run();
  });
  return el("li", {}, button);
}

function hit(h) {
  const link = el("a", h.highlight && h.highlight.title ? { href: "#" + h.id, html: h.highlight.title } : { href: "#" + h.id, text: h.title });
  link.addEventListener("click", (e) => { e.preventDefault(); detail(h.id); });
  const title = el("h3", {}, link);
  const meta = [h.type, h.series, h.provider, dutchDate(h.broadcast)].filter(Boolean).join(" · ");
  const desc = h.highlight && h.highlight.description && h.highlight.description.length
    ? el("p", { class: "desc", html: h.highlight.description.join(" … ") })
    : (h.description ? el("p", { class: "desc", text: h.description }) : null);
  const edu = [].concat(h.levels || [], h.degrees || [], h.subjects || [], h.themes || []);
  return el("li", { class: "hit", "data-id": h.id },
    title,
    el("div", { class: "meta", text: meta }),
    desc,
    edu.length ? el("div", { class: "chips edu" }, ...edu.map((l) => el("span", { class: "chip", text: l }))) : null,
    h.keywords && h.keywords.length ? el("div", { class: "chips" }, ...h.keywords.map((k) => el("span", { class: "chip kw", text: k }))) : null,
  );
}

// detail shows one item whole: its thumbnail, description and education
// fields, as the API gives them.
async function detail(id) {
  const box = $("detail");
  let res, h;
  try {
    res = await api("/api/items/" + encodeURIComponent(id) + "?scope=" + state.scope);
    h = await res.json();
  } catch (e) {
    res = { ok: false, status: 0 };
  }
  const body = [];
  if (!res.ok) {
    body.push(el("p", { class: "error", text: problem(res.status) }));
  } else {
    if (h.thumbnail) body.push(el("img", { src: h.thumbnail, alt: "", class: "thumb" }));
    body.push(el("h2", { text: h.title }));
    body.push(el("p", { class: "meta", text: [h.type, h.series, h.provider, dutchDate(h.broadcast)].filter(Boolean).join(" · ") }));
    if (h.description) body.push(el("p", { class: "desc", text: h.description }));
    const rows = [["Onderwijsniveau", h.levels], ["Graad", h.degrees], ["Vak", h.subjects], ["Thema", h.themes], ["Trefwoorden", h.keywords], ["Taal", h.languages]];
    const dl = el("dl", {});
    for (const [label, values] of rows) {
      if (values && values.length) dl.append(el("dt", { text: label }), el("dd", { text: values.join(", ") }));
    }
    body.push(dl);
  }
  const close = el("button", { type: "button", class: "close", text: "Sluiten" });
  close.addEventListener("click", () => box.close());
  box.replaceChildren(close, ...body);
  box.dataset.id = id;
  box.showModal();
}

let suggestTimer;
$("q").addEventListener("input", () => {
  clearTimeout(suggestTimer);
  const words = $("q").value.trim().split(/\s+/);
  const prefix = words[words.length - 1] || "";
  if (prefix.length < 2) return;
  suggestTimer = setTimeout(async () => {
    const res = await api("/api/suggest?prefix=" + encodeURIComponent(prefix));
    if (!res.ok) return;
    const body = await res.json();
    const head = words.slice(0, -1).join(" ");
    $("suggestions").replaceChildren(...body.keywords.map((k) => el("option", { value: (head ? head + " " : "") + k })));
  }, 150);
});

$("search").addEventListener("submit", (e) => {
  e.preventDefault();
  state.q = $("q").value.trim();
  state.from = 0;
  run();
});
$("scope").addEventListener("change", () => {
  state.scope = $("scope").value;
  $("primary-label").hidden = state.scope !== "pupil";
  state.filters = {};
  state.from = 0;
  run();
});
$("primary").addEventListener("change", () => { state.primary = $("primary").checked; state.from = 0; run(); });
$("sort").addEventListener("change", () => { state.sort = $("sort").value; state.from = 0; run(); });
$("prev").addEventListener("click", () => { state.from = Math.max(0, state.from - state.size); run(); });
$("next").addEventListener("click", () => { state.from += state.size; run(); });

// Start from the address, so a search can be shared as a link.
(async function init() {
  await setupSignOn();
  const p = new URLSearchParams(location.search);
  for (const [k, v] of p) {
    if (k === "q") state.q = v;
    else if (k === "scope") state.scope = v;
    else if (k === "primary") state.primary = v === "true";
    else if (k === "sort") state.sort = v;
    else if (k === "from") state.from = parseInt(v, 10) || 0;
    else if (k === "size") state.size = parseInt(v, 10) || 20;
    else if (facetNames[k]) (state.filters[k] = state.filters[k] || []).push(v);
  }
  if ($("who").dataset.view === "pupil") state.scope = "pupil";
  $("q").value = state.q;
  $("scope").value = state.scope;
  $("primary").checked = state.primary;
  $("primary-label").hidden = state.scope !== "pupil";
  $("sort").value = state.sort;
  run();
})();
