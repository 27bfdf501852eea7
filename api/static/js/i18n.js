// Interface strings in English and Vietnamese, money formats, and filter-value names.

const STRINGS = {
  en: {
    skip: "Skip to results", nav: "Views", navSearch: "Search", navJobs: "Ingest jobs",
    langSwitch: "Tiếng Việt", langShort: "VI",
    qLabel: "Describe a shoe", qPlaceholder: "white leather sneakers, black heels under 2000…",
    photo: "Photo", photoHint: "Search by photo (or drop / paste one)", photoRemove: "Remove photo",
    searchBtn: "Search", dropHint: "Tip: drop a photo anywhere on the page or paste one (Ctrl+V).",
    dropHere: "Drop the photo to search", understood: "What the search understood",
    filters: "Filters", clearFilters: "Clear filters", more: "Show more",
    brand: "Brand", category: "Category", gender: "Gender", colour: "Colour", price: "Price",
    priceMin: "Minimum price", priceMax: "Maximum price", priceFrom: "From", priceTo: "To",
    chipsLead: "Understood:", removeChip: "Remove “{label}” (search without it)",
    kind_price_min: "from {value}", kind_price_max: "up to {value}",
    similarTo: "Shoes like “{title}”", similarRemove: "Stop showing similar shoes",
    photoSearch: "Your photo", photoSearchWith: "Your photo + “{q}”",
    countFor: "{n} shoes for “{q}”", countForMore: "{n}+ shoes for “{q}”",
    countPhoto: "{n} shoes that look like your photo", countPhotoMore: "{n}+ shoes that look like your photo",
    countSimilar: "{n} similar shoes", countSimilarMore: "{n}+ similar shoes",
    countBrowse: "{n} shoes", countBrowseMore: "{n}+ shoes",
    loading: "Searching…", loadingMore: "Loading more…", end: "That's all.",
    emptyTitle: "No shoes match.",
    emptyFilters: "Try removing a filter or a chip above, or use fewer words.",
    emptyQuery: "Try fewer or different words, or search by photo.",
    errorTitle: "The search failed.", retry: "Retry",
    errNetwork: "Can't reach the ClipShoe server. Check your connection, then retry.",
    errPhoto: "Try another photo: a JPEG, PNG or WebP of one shoe.",
    errTooBig: "Try a smaller photo (or a screenshot of it).",
    errUnavailable: "Search is briefly unavailable. Wait a moment, then retry.",
    errBadRequest: "Check the filters and the search text, then search again.",
    errServer: "Something went wrong on the server. Retry; if it keeps failing, tell the operators.",
    likeThis: "Like this", likeThisLabel: "Shoes like {title}", offers: "{n} offers",
    close: "Close", similarShoes: "Similar shoes", seeAllSimilar: "Show all similar shoes",
    noSimilar: "No similar shoes found.", details: "Details", openListing: "Open the listing",
    productMissing: "This product could not be loaded.",
    // jobs
    jobsTitle: "Ingest jobs", jobsIntro: "Load a feed file that is on the server into the catalogue.",
    feed: "Feed path on the server", feedHint: "A styles.csv (Myntra layout) or a JSONL feed.",
    format: "Format", formatAuto: "detect", source: "Source (JSONL feeds)", sourceHint: "e.g. shopee",
    apiKey: "API key", apiKeyHint: "Sent as X-API-Key on writes; kept for this browser tab only.",
    startJob: "Start job", starting: "Starting…", started: "Job {id} started.",
    recentJobs: "Recent jobs", refresh: "Refresh", noJobs: "No jobs yet.",
    job: "Job", status: "Status", progress: "Progress", created: "Created",
    total: "total", indexed: "indexed", unchanged: "unchanged", failed: "failed",
    batches: "batches {done}/{total}", errors: "Item errors", noErrors: "No item errors.",
    line: "Line", sourceId: "Source id", stage: "Stage", reason: "Reason",
    status_pending: "pending", status_running: "running", status_completed: "completed", status_failed: "failed",
    jobLoadFailed: "Could not load the jobs: {detail}", view: "View",
  },
  vi: {
    skip: "Đến kết quả", nav: "Trang", navSearch: "Tìm kiếm", navJobs: "Nhập liệu",
    langSwitch: "English", langShort: "EN",
    qLabel: "Mô tả đôi giày", qPlaceholder: "giày thể thao nam màu đen dưới 2 triệu…",
    photo: "Ảnh", photoHint: "Tìm bằng ảnh (hoặc kéo thả / dán ảnh)", photoRemove: "Bỏ ảnh",
    searchBtn: "Tìm", dropHint: "Mẹo: kéo thả ảnh vào trang hoặc dán ảnh (Ctrl+V).",
    dropHere: "Thả ảnh để tìm", understood: "Những gì tìm kiếm hiểu được",
    filters: "Bộ lọc", clearFilters: "Xoá bộ lọc", more: "Xem thêm",
    brand: "Thương hiệu", category: "Loại giày", gender: "Giới tính", colour: "Màu sắc", price: "Giá",
    priceMin: "Giá thấp nhất", priceMax: "Giá cao nhất", priceFrom: "Từ", priceTo: "Đến",
    chipsLead: "Đã hiểu:", removeChip: "Bỏ “{label}” (tìm lại không có điều kiện này)",
    kind_price_min: "từ {value}", kind_price_max: "dưới {value}",
    similarTo: "Giày giống “{title}”", similarRemove: "Thôi xem giày tương tự",
    photoSearch: "Ảnh của bạn", photoSearchWith: "Ảnh của bạn + “{q}”",
    countFor: "{n} đôi giày cho “{q}”", countForMore: "Hơn {n} đôi giày cho “{q}”",
    countPhoto: "{n} đôi giày giống ảnh của bạn", countPhotoMore: "Hơn {n} đôi giày giống ảnh của bạn",
    countSimilar: "{n} đôi giày tương tự", countSimilarMore: "Hơn {n} đôi giày tương tự",
    countBrowse: "{n} đôi giày", countBrowseMore: "Hơn {n} đôi giày",
    loading: "Đang tìm…", loadingMore: "Đang tải thêm…", end: "Đã hết kết quả.",
    emptyTitle: "Không có đôi giày nào phù hợp.",
    emptyFilters: "Hãy bỏ bớt bộ lọc hoặc điều kiện ở trên, hoặc dùng ít từ hơn.",
    emptyQuery: "Hãy thử từ khác, ít từ hơn, hoặc tìm bằng ảnh.",
    errorTitle: "Tìm kiếm không thành công.", retry: "Thử lại",
    errNetwork: "Không kết nối được máy chủ ClipShoe. Kiểm tra kết nối mạng rồi thử lại.",
    errPhoto: "Hãy thử ảnh khác: JPEG, PNG hoặc WebP chụp một chiếc giày.",
    errTooBig: "Hãy dùng ảnh nhỏ hơn (hoặc chụp màn hình ảnh đó).",
    errUnavailable: "Tìm kiếm tạm thời gián đoạn. Đợi một chút rồi thử lại.",
    errBadRequest: "Kiểm tra bộ lọc và nội dung tìm kiếm rồi tìm lại.",
    errServer: "Máy chủ gặp lỗi. Hãy thử lại; nếu vẫn lỗi, báo cho người vận hành.",
    likeThis: "Giày tương tự", likeThisLabel: "Giày giống {title}", offers: "{n} nơi bán",
    close: "Đóng", similarShoes: "Giày tương tự", seeAllSimilar: "Xem tất cả giày tương tự",
    noSimilar: "Không tìm thấy giày tương tự.", details: "Chi tiết", openListing: "Mở trang bán",
    productMissing: "Không tải được sản phẩm này.",
    jobsTitle: "Tác vụ nhập liệu", jobsIntro: "Nạp một tệp dữ liệu có sẵn trên máy chủ vào danh mục.",
    feed: "Đường dẫn tệp trên máy chủ", feedHint: "Tệp styles.csv (dạng Myntra) hoặc JSONL.",
    format: "Định dạng", formatAuto: "tự nhận", source: "Nguồn (tệp JSONL)", sourceHint: "vd. shopee",
    apiKey: "Khoá API", apiKeyHint: "Gửi trong X-API-Key khi ghi; chỉ lưu trong tab này.",
    startJob: "Bắt đầu", starting: "Đang bắt đầu…", started: "Đã bắt đầu tác vụ {id}.",
    recentJobs: "Tác vụ gần đây", refresh: "Làm mới", noJobs: "Chưa có tác vụ nào.",
    job: "Tác vụ", status: "Trạng thái", progress: "Tiến độ", created: "Tạo lúc",
    total: "tổng", indexed: "đã lập chỉ mục", unchanged: "không đổi", failed: "lỗi",
    batches: "lô {done}/{total}", errors: "Lỗi từng mục", noErrors: "Không có lỗi.",
    line: "Dòng", sourceId: "Mã nguồn", stage: "Bước", reason: "Lý do",
    status_pending: "đang chờ", status_running: "đang chạy", status_completed: "hoàn tất", status_failed: "thất bại",
    jobLoadFailed: "Không tải được danh sách tác vụ: {detail}", view: "Xem",
  },
};

const KEY = "clipshoe.lang";
let lang = pickLanguage();
const listeners = new Set();

function pickLanguage() {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved === "en" || saved === "vi") return saved;
  } catch { /* storage blocked: fall back to the browser's language */ }
  return (navigator.language || "en").toLowerCase().startsWith("vi") ? "vi" : "en";
}

export const getLang = () => lang;

export function setLang(next) {
  lang = next;
  try { localStorage.setItem(KEY, next); } catch { /* not remembered, still switched */ }
  document.documentElement.lang = next;
  for (const fn of listeners) fn(next);
}

export const onLangChange = (fn) => listeners.add(fn);

export function t(key, params = {}) {
  const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(params[k] ?? ""));
}

/** Fill data-i18n (text), data-i18n-placeholder, -title and -aria-label attributes under root. */
export function translate(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const [attr, data] of [["placeholder", "i18nPlaceholder"], ["title", "i18nTitle"], ["aria-label", "i18nAriaLabel"]]) {
    for (const el of root.querySelectorAll(`[data-${data.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}]`)) {
      el.setAttribute(attr, t(el.dataset[data]));
    }
  }
}

// Vietnamese names of canonical filter values come from the server (ingest/vocab.py), embedded in the page.
let vocab = {};
try { vocab = JSON.parse(document.getElementById("vocab")?.textContent || "{}"); } catch { vocab = {}; }

const capitalise = (s) => s.replace(/(^|[\s-])(\p{L})/gu, (m, sep, c) => sep + c.toUpperCase());

/** Display name of a facet value: Vietnamese when the interface is, else the English value capitalised. */
export function valueLabel(kind, value, display = {}) {
  if (kind === "brand") return display[value] || capitalise(String(value));
  if (lang === "vi" && vocab[value]) return vocab[value].charAt(0).toUpperCase() + vocab[value].slice(1);
  return capitalise(String(value));
}

const formats = new Map();

/** ₹2,499 for INR; 1.290.000 ₫ for VND; other currencies in the interface's locale. */
export function money(value, currency = "VND") {
  if (value == null || Number.isNaN(Number(value))) return "";
  const locale = currency === "VND" ? "vi-VN" : currency === "INR" ? "en-IN" : lang === "vi" ? "vi-VN" : "en-US";
  const key = `${locale}|${currency}`;
  if (!formats.has(key)) {
    try {
      formats.set(key, new Intl.NumberFormat(locale, { style: "currency", currency, maximumFractionDigits: 0 }));
    } catch {
      formats.set(key, { format: (v) => `${Math.round(v).toLocaleString(locale)} ${currency}` });
    }
  }
  return formats.get(key).format(Number(value));
}
