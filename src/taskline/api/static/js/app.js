// The dashboard: sign-in with the API token, and a page per `#/` route.

import { token } from "./api.js";
import { board } from "./board.js";
import { h, put } from "./dom.js";
import { forms } from "./forms.js";
import { metrics } from "./metrics.js";
import { task } from "./task.js";

const ROUTES = [
  [/^#?\/?$/, board, "board"],
  [/^#\/new$/, forms, "new"],
  [/^#\/metrics$/, metrics, "metrics"],
  [/^#\/task\/([^/]+)$/, task, ""],
];

let cleanup = null;
let generation = 0;

function showSignedIn() {
  const signed = Boolean(token.get());
  document.getElementById("login").hidden = signed;
  document.getElementById("signed-in").hidden = !signed;
}

async function route() {
  const mine = ++generation;
  if (cleanup) cleanup();
  cleanup = null;
  const main = document.getElementById("main");
  showSignedIn();
  if (!token.get()) {
    put(main, h("div", { class: "panel intro" }, h("h1", {}, "Sign in"),
      h("p", {}, "Paste the API token in the field above: it is $TASKLINE_API_TOKEN, or the one "
        + "`taskline serve` printed at its first start (kept in $TASKLINE_HOME/api-token).")));
    return;
  }
  const match = ROUTES.map(([pattern, page, nav]) => [location.hash.match(pattern), page, nav])
    .find(([m]) => m);
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", Boolean(match) && link.dataset.nav === match[2]);
  }
  if (!match) {
    put(main, h("p", {}, "No such page. ", h("a", { href: "#/" }, "Back to the board")));
    return;
  }
  const [found, page] = match;
  put(main, h("p", { class: "muted" }, "Loading…"));
  try {
    const stop = await page(main, ...found.slice(1).map(decodeURIComponent));
    if (mine !== generation) { if (stop) stop(); return; }  // the user moved on meanwhile
    cleanup = stop || null;
  } catch (e) {
    if (mine === generation) put(main, h("div", { class: "callout failed" }, e.message));
  }
}

document.getElementById("login").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("token");
  token.set(input.value);
  input.value = "";
  route();
});
document.getElementById("logout").addEventListener("click", () => { token.clear(); route(); });
window.addEventListener("taskline:unauthorized", () => {
  token.clear();
  showSignedIn();
  const input = document.getElementById("token");
  input.placeholder = "token refused: paste it again";
  input.focus();
});
window.addEventListener("hashchange", route);
route();
