// The search page: it only calls the JSON API, as any frontend would.
"use strict";

const facetNames = {
  type: "Type", level: "Onderwijsniveau", degree: "Graad", subject: "Vak", theme: "Thema",
  series: "Reeks", provider: "Aanbieder", language: "Taal", keyword: "Trefwoord",
};
const state = { q: "", scope: "teacher", primary: false, sort: "relevance", from: 0, size: 20, filters: {} };
const $ = (id) => document.getElementById(id);

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
    res = await fetch("/api/search?" + p.toString());
    body = await res.json();
  } catch (e) {
    return fail("De zoekdienst antwoordt niet.");
  }
  if (!res.ok) return fail(body.error || res.statusText);
  render(body);
}

function fail(msg) {
  $("status").className = "error";
  $("status").textContent = msg;
  $("results").replaceChildren();
  $("facets").replaceChildren();
}

function render(body) {
  $("status").textContent = body.total === 1 ? "1 resultaat" : body.total + " resultaten";
  $("status").dataset.total = body.total;
  $("results").replaceChildren(...body.hits.map(hit));
  const facets = [];
  for (const [name, buckets] of Object.entries(body.facets)) {
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
  const title = el("h3", h.highlight && h.highlight.title ? { html: h.highlight.title } : { text: h.title });
  const meta = [h.type, h.series, h.provider, h.broadcast].filter(Boolean).join(" · ");
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

let suggestTimer;
$("q").addEventListener("input", () => {
  clearTimeout(suggestTimer);
  const words = $("q").value.trim().split(/\s+/);
  const prefix = words[words.length - 1] || "";
  if (prefix.length < 2) return;
  suggestTimer = setTimeout(async () => {
    const res = await fetch("/api/suggest?prefix=" + encodeURIComponent(prefix));
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
(function init() {
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
  $("q").value = state.q;
  $("scope").value = state.scope;
  $("primary").checked = state.primary;
  $("primary-label").hidden = state.scope !== "pupil";
  $("sort").value = state.sort;
  run();
})();
