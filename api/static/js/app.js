// Entry point: language, views (search, product, jobs) from the URL, photo input wiring.

import { getLang, onLangChange, setLang, t, translate } from "./i18n.js";
import { jobsView } from "./jobs.js";
import { watchPhotos } from "./photo.js";
import { showProduct } from "./product.js";
import { searchView } from "./search.js";
import { readView } from "./state.js";

const $ = (id) => document.getElementById(id);
const views = { search: $("view-search"), jobs: $("view-jobs") };
const dialog = $("product");
const langBtn = $("lang");

document.documentElement.lang = getLang();
translate();

const search = searchView();
let jobs = null;
let productOpenedInApp = false; // a product opened from the page: closing it goes back in history

function closeProduct() {
  if (readView().name !== "product") return;
  if (productOpenedInApp) history.back();
  else {
    history.replaceState(null, "", location.pathname + location.search);
    route();
  }
}

function route() {
  const view = readView();
  const name = view.name === "jobs" ? "jobs" : "search";
  for (const [k, el] of Object.entries(views)) el.hidden = k !== name;
  for (const [k, id] of [["search", "nav-search"], ["jobs", "nav-jobs"]]) {
    if (k === name) $(id).setAttribute("aria-current", "page");
    else $(id).removeAttribute("aria-current");
  }
  if (name === "jobs") {
    jobs ||= jobsView(views.jobs);
    jobs.show(view.id);
    document.title = `${t("jobsTitle")} — ClipShoe`;
  } else {
    jobs?.hide();
    document.title = "ClipShoe";
  }
  if (view.name === "product") {
    showProduct(dialog, view.id, {
      onClose: closeProduct,
      onSeeAll: (p) => {
        productOpenedInApp = false;
        dialog.close();
        search.showSimilar(p);
      },
    });
  } else if (dialog.open) {
    dialog.close();
  }
  search.fromUrl();
}

dialog.addEventListener("close", () => {
  if (readView().name === "product") closeProduct();
});
dialog.addEventListener("click", (e) => {
  if (e.target === dialog) dialog.close(); // a click on the backdrop
});

// Back/forward over a hash fires popstate and hashchange: route once.
let scheduled = false;
function onNavigate() {
  productOpenedInApp = readView().name === "product";
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => { scheduled = false; route(); }, 0);
}
window.addEventListener("hashchange", onNavigate);
window.addEventListener("popstate", onNavigate);

langBtn.addEventListener("click", () => setLang(getLang() === "vi" ? "en" : "vi"));
function labelLangButton() {
  langBtn.textContent = t("langShort");
  langBtn.setAttribute("aria-label", t("langSwitch"));
  langBtn.lang = getLang() === "vi" ? "en" : "vi";
}
onLangChange(() => {
  translate();
  labelLangButton();
  search.relabel();
  jobs?.relabel();
  const view = readView();
  if (view.name === "product" && dialog.open) route();
});
labelLangButton();

watchPhotos({
  input: $("photo"),
  overlay: $("drop"),
  onPhoto: (file) => {
    if (readView().name !== "search") history.pushState(null, "", location.pathname + location.search);
    route();
    search.setPhoto(file);
  },
  enabled: () => readView().name !== "jobs",
});

route();
search.run();

// Phones see the results first; the filters fold away until opened.
if (!matchMedia("(min-width: 860px)").matches) $("filters-box").open = false;
