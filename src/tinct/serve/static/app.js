/* tinct serve: the page. Plain JS, no build step, no network beyond this server. */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const PREVIEW = 1600; // longest side of the images the page shows (downloads are full size)

  const el = {
    drop: $("drop"), pickPhoto: $("pick-photo"), photoInput: $("photo-input"), limitsText: $("limits-text"),
    viewer: $("viewer"), frame: $("frame"), before: $("before"), afterWrap: $("after-wrap"), after: $("after"),
    overlay: $("overlay"), divider: $("divider"), knob: $("divider-knob"), markers: $("markers"),
    pending: $("pending"), crosshair: $("crosshair"), busy: $("busy"), busyText: $("busy-text"),
    compare: $("compare"), colourNote: $("colour-note"),
    pointCard: $("point-card"), pointXY: $("point-xy"), swatches: $("swatches"), swatchNote: $("swatch-note"),
    customColor: $("custom-color"), addHint: $("add-hint"), radius: $("radius"), radiusOut: $("radius-out"),
    removeSelected: $("remove-selected"), closePoint: $("close-point"),
    hintList: $("hint-list"), hintCount: $("hint-count"), noHints: $("no-hints"), clearHints: $("clear-hints"),
    temperature: $("temperature"), temperatureOut: $("temperature-out"),
    saturation: $("saturation"), saturationOut: $("saturation-out"), resetLook: $("reset-look"), levels: $("levels"),
    pickRef: $("pick-ref"), refInput: $("ref-input"), refBox: $("ref-box"), refThumb: $("ref-thumb"),
    refCard: $("ref-card"), refName: $("ref-name"), refEmpty: $("ref-empty"), removeRef: $("remove-ref"), refOptions: $("ref-options"),
    transferFields: $("transfer-fields"), method: $("method"), strength: $("strength"), strengthOut: $("strength-out"),
    showOverlay: $("show-overlay"), legend: $("legend"), overlayText: $("overlay-text"),
    format: $("format"), download: $("download"), sizeText: $("size-text"), newPhoto: $("new-photo"),
    status: $("status"), error: $("error"), errorText: $("error-text"), errorClose: $("error-close"),
  };

  const state = {
    photo: null,        // {id, name, width, height, colour}
    ref: null,          // {id, name, width, height}
    hints: [],          // {x, y, color: "#rrggbb", radius}
    selected: -1,       // index into hints
    pending: null,      // {x, y}: a clicked spot without a hint yet
    resultId: null,
    rendering: false,
    dirty: false,
    renderSeq: 0,
    explained: null,    // photo id whose overlay is loaded
    cursor: { x: 0.5, y: 0.5 }, // keyboard crosshair, fractions of the photo
    split: 50,
    renderCtrl: null,   // AbortController of the render in flight
    suggestSeq: 0,
    suggestKey: null,   // the spot (and steer) whose suggestions are shown
  };

  // ---------------------------------------------------------------- messages

  let statusTimer = 0;
  function status(text, { sticky = false } = {}) {
    clearTimeout(statusTimer);
    el.status.textContent = text;
    if (!sticky && text) statusTimer = setTimeout(() => { el.status.textContent = ""; }, 4000);
  }
  function showError(text) {
    el.errorText.textContent = text;
    el.error.hidden = false;
  }
  function clearError() { el.error.hidden = true; el.errorText.textContent = ""; }
  el.errorClose.addEventListener("click", clearError);

  async function errorText(res) {
    let detail = "";
    try {
      const data = await res.clone().json();
      detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    } catch (_) {
      try { detail = (await res.text()).slice(0, 300); } catch (_) { /* nothing */ }
    }
    const prefix = { 413: "Too large", 415: "Not a supported image", 400: "Could not read the image",
                     404: "Not found", 422: "Invalid request", 503: "Server busy" }[res.status] || `Error ${res.status}`;
    return `${prefix}: ${detail || res.statusText}`;
  }

  const PATIENCE = 120; // seconds the page keeps retrying a busy server before it says so
  const BUSY = "The server is busy";

  /** Wait ``ms``, or less if ``signal`` aborts; the abort listener goes when the wait does (one per retry). */
  function sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      const aborted = () => new DOMException("Aborted", "AbortError");
      if (signal && signal.aborted) { reject(aborted()); return; }
      const onAbort = () => { clearTimeout(timer); reject(aborted()); };
      const timer = setTimeout(() => {
        if (signal) signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      if (signal) signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** fetch; on 503 wait Retry-After seconds and try again, saying so, for up to PATIENCE seconds in all. */
  async function request(url, init = {}) {
    const start = performance.now();
    for (let waited = false; ; waited = true) {
      let res;
      try {
        res = await fetch(url, init);
      } catch (err) {
        if (err.name === "AbortError") throw err;
        throw new Error("Cannot reach the tinct server. Is it still running?");
      }
      const left = PATIENCE - (performance.now() - start) / 1000;
      if (res.status === 503 && left > 1) {
        const wait = Math.min(Number(res.headers.get("Retry-After")) || 2, 30, left);
        status(`${BUSY}; waiting ${Math.ceil(wait)} s and trying again…`, { sticky: true });
        await sleep(wait * 1000, init.signal);
        continue;
      }
      if (waited && el.status.textContent.startsWith(BUSY)) status("");
      if (!res.ok) throw new Error(await errorText(res));
      return res;
    }
  }

  function post(url, form, { signal } = {}) { return request(url, { method: "POST", body: form, signal }); }

  // Per <img>: the blob: URL it shows, and how to settle the showBlob() still waiting for it to decode.
  const blobUrls = new WeakMap();
  const decoding = new WeakMap();

  /** Give back an <img>'s blob (an image already decoded stays on screen); a decode still awaited
   *  there settles as not shown, so nothing waits for an image that was replaced or cleared. */
  function release(img) {
    const url = blobUrls.get(img);
    blobUrls.delete(img);
    if (url) URL.revokeObjectURL(url);
    const settle = decoding.get(img);
    if (settle) settle(false);
  }

  /** Show a blob in an <img>: true once it is decoded; false if it cannot be, or is replaced first. */
  function showBlob(img, blob) {
    release(img);
    const url = URL.createObjectURL(blob);
    blobUrls.set(img, url);
    return new Promise((resolve) => {
      const loaded = () => settle(true);
      const failed = () => settle(false);
      const settle = (ok) => {
        img.removeEventListener("load", loaded);
        img.removeEventListener("error", failed);
        decoding.delete(img);
        resolve(ok);
      };
      decoding.set(img, settle);
      img.addEventListener("load", loaded);
      img.addEventListener("error", failed);
      img.src = url;
    });
  }

  /** Empty an <img> and give back its blob. */
  function clearImage(img) {
    release(img);
    img.removeAttribute("src");
  }

  /** Show a server image in an <img> (an <img src> would just break on a busy server); ``current`` says
   *  whether it is still wanted when it arrives. True if it was shown. */
  async function loadImage(img, url, current = () => true) {
    const blob = await (await request(url)).blob();
    return current() && showBlob(img, blob);
  }

  // ---------------------------------------------------------------- server info

  // The look sliders start at (and "Reset" returns to) the server's defaults, which follow the
  // shipped model's chosen temperature; the values here only cover a failed /api/info.
  const lookDefaults = { temperature: el.temperature.value, saturation: el.saturation.value };

  fetch("/api/info").then((r) => r.json()).then((info) => {
    // Sliders the user has not moved follow the server (a render made meanwhile is redone).
    const untouched = el.temperature.value === lookDefaults.temperature
      && el.saturation.value === lookDefaults.saturation;
    lookDefaults.temperature = String(info.defaults.temperature);
    lookDefaults.saturation = String(info.defaults.saturation);
    if (untouched && (el.temperature.value !== lookDefaults.temperature
                      || el.saturation.value !== lookDefaults.saturation)) {
      el.temperature.value = lookDefaults.temperature;
      el.saturation.value = lookDefaults.saturation;
      updateLookOutputs();
      requestRender();
    }
    el.method.innerHTML = "";
    for (const m of info.methods) {
      const o = document.createElement("option");
      o.value = m; o.textContent = m;
      el.method.append(o);
    }
    el.method.value = info.defaults.method || "mkl";
    const mb = info.limits.max_upload_mb;
    el.limitsText.textContent = `JPEG, PNG, TIFF, WebP, BMP or GIF, up to ${mb >= 1 ? Math.round(mb) : mb} MB.`;
  }).catch(() => { /* the page still works with defaults */ });

  // ---------------------------------------------------------------- uploads

  async function upload(file, signal) {
    const form = new FormData();
    form.append("photo", file, file.name);
    const res = await post("/api/upload", form, { signal });
    return res.json();
  }

  // The upload in flight for the photo and for the reference: a newer choice aborts the older one,
  // whose reply (if it comes anyway) is then ignored.
  const uploading = { photo: null, ref: null };

  async function openPhoto(file) {
    if (!file) return;
    if (uploading.photo) uploading.photo.abort();
    const ctrl = uploading.photo = new AbortController();
    clearError();
    status(`Uploading ${file.name}…`, { sticky: true });
    el.pickPhoto.disabled = true;
    try {
      const info = await upload(file, ctrl.signal);
      if (ctrl === uploading.photo) startWith(info);
    } catch (err) {
      if (ctrl === uploading.photo) { status(""); showError(err.message); }
    } finally {
      if (ctrl === uploading.photo) {
        uploading.photo = null;
        el.pickPhoto.disabled = false;
        el.photoInput.value = "";
      }
    }
  }

  function startWith(info) {
    if (state.renderCtrl) state.renderCtrl.abort();  // a render of the last photo may be waiting on a busy server
    state.photo = info;
    state.hints = [];
    state.selected = -1;
    state.pending = null;
    state.resultId = null;
    state.explained = null;
    el.showOverlay.checked = false;
    el.frame.classList.remove("no-compare");
    el.overlay.hidden = true;
    el.legend.hidden = true;
    for (const img of [el.after, el.before, el.overlay]) clearImage(img);  // the last photo's
    loadImage(el.before, `/api/upload/${info.id}/image?max=${PREVIEW}`, () => state.photo === info)
      .catch((err) => showError(err.message));
    updateColourNote();
    el.drop.hidden = true;
    el.viewer.hidden = false;
    $("layout").classList.remove("is-empty");
    el.sizeText.textContent = `${info.width} × ${info.height} pixels`;
    el.radius.max = String(Math.max(10, Math.round(Math.min(info.width, info.height) / 25)));
    el.radius.value = String(Math.max(1, Math.round(Math.min(info.width, info.height) * 0.008)));
    updateRadiusOut();
    setSplit(50);
    closePoint();
    renderHints();
    updateDownload();
    requestRender();
  }

  el.pickPhoto.addEventListener("click", () => el.photoInput.click());
  el.photoInput.addEventListener("change", () => openPhoto(el.photoInput.files[0]));
  el.newPhoto.addEventListener("click", () => {
    el.viewer.hidden = true;
    el.drop.hidden = false;
    $("layout").classList.add("is-empty");
    state.photo = null;
    closePoint();
    el.pickPhoto.focus();
  });

  // Drag and drop anywhere on the page: onto the Reference card for a reference, elsewhere for the photo.
  let dragDepth = 0;
  const onRefCard = (e) => Boolean(state.photo && e.target.closest && e.target.closest("#ref-card"));
  document.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth++;
    el.drop.classList.add("is-over");
  });
  document.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) { el.drop.classList.remove("is-over"); el.refCard.classList.remove("is-over"); }
  });
  document.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    el.refCard.classList.toggle("is-over", onRefCard(e));
  });
  document.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth = 0;
    el.drop.classList.remove("is-over");
    el.refCard.classList.remove("is-over");
    const file = e.dataTransfer.files[0];
    if (onRefCard(e)) openReference(file); else openPhoto(file);
  });
  function hasFiles(e) { return e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files"); }

  // ---------------------------------------------------------------- rendering

  function renderForm(format, preview) {
    const form = new FormData();
    form.append("id", state.photo.id);
    form.append("hints", JSON.stringify(state.hints));
    form.append("temperature", el.temperature.value);
    form.append("saturation", el.saturation.value);
    form.append("levels", el.levels.checked ? "true" : "false");
    if (state.ref) {
      form.append("reference_id", state.ref.id);
      form.append("reference_mode", refMode());
      form.append("method", el.method.value);
      form.append("strength", el.strength.value);
    }
    form.append("format", format);
    form.append("preview", String(preview));
    return form;
  }

  /** A colour photo restyled after a reference: colour transfer of its own colours (the network is not used). */
  function restylesOwnColours() { return Boolean(state.photo && state.photo.colour && state.ref && refMode() === "transfer"); }

  function transferForm(preview) {
    const form = new FormData();
    form.append("source_id", state.photo.id);
    form.append("reference_id", state.ref.id);
    form.append("method", el.method.value);
    form.append("strength", el.strength.value);
    form.append("preserve_luminance", "true");  // as the restyle of a colorization: the photo's own lightness
    form.append("format", "png");
    form.append("preview", String(preview));
    return form;
  }

  /** What the current settings make, for the status line. */
  function describeRender() {
    const n = state.hints.length;
    const hints = n ? `${n} hint${n > 1 ? "s" : ""}` : "automatic";
    if (!state.ref) return `Colorized (${hints})`;
    if (refMode() === "palette") return `Colorized with the palette of ${state.ref.name} (${hints})`;
    const how = `${el.method.value}, ${Math.round(el.strength.value * 100)}%`;
    if (restylesOwnColours()) {
      return `Restyled the photo's own colours after ${state.ref.name} (${how}${n ? "; hints are not used" : ""})`;
    }
    return `Colorized (${hints}) and restyled after ${state.ref.name} (${how})`;
  }

  function updateColourNote() {
    el.colourNote.hidden = !(state.photo && state.photo.colour);
    el.colourNote.textContent = restylesOwnColours()
      ? "This photo already has colour: restyling recolours its own colours (hints and the look settings are not used)."
      : "This photo already has colour: tinct colorizes its lightness.";
  }

  /** Ask for a new result; renders are serialised: edits made meanwhile are sent once it returns. */
  function requestRender() {
    if (!state.photo) return;
    if (state.rendering) { state.dirty = true; return; }
    doRender();
  }

  async function doRender() {
    state.rendering = true;
    state.dirty = false;
    const seq = ++state.renderSeq;
    const photoId = state.photo.id;
    el.busy.hidden = false;
    const own = restylesOwnColours();
    const what = describeRender();
    el.busyText.textContent = own ? "Restyling…" : state.resultId ? "Updating…" : "Colorizing…";
    el.frame.setAttribute("aria-busy", "true");
    const t0 = performance.now();
    try {
      const signal = (state.renderCtrl = new AbortController()).signal;
      const res = own ? await post("/api/transfer", transferForm(PREVIEW), { signal })
        : await post("/api/colorize", renderForm("png", PREVIEW), { signal });
      const blob = await res.blob();
      if (!state.photo || state.photo.id !== photoId || seq !== state.renderSeq) return;
      const shown = await showBlob(el.after, blob);
      if (!state.photo || state.photo.id !== photoId) return;  // another photo was opened while it decoded
      if (shown) el.frame.dataset.renders = String(Number(el.frame.dataset.renders || 0) + 1);
      state.resultId = res.headers.get("X-Tinct-Id");
      el.frame.dataset.resultId = state.resultId || "";
      updateDownload();
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      status(`${what} in ${secs} s.`);
      clearError();
    } catch (err) {
      if (err.name !== "AbortError") { status(""); showError(err.message); }
    } finally {
      state.rendering = false;
      el.frame.removeAttribute("aria-busy");
      if (state.dirty && state.photo) doRender();
      else el.busy.hidden = true;
    }
  }

  let debounceTimer = 0;
  function renderSoon(ms = 250) {
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(requestRender, ms);
  }

  /** Without a result the link has no href: nothing to focus, and Enter cannot download the page itself. */
  function updateDownload() {
    const ext = el.format.value;
    if (state.resultId) {
      el.download.href = `/api/result/${state.resultId}.${ext}?download=1`;
      el.download.setAttribute("download", "");  // the server names the file (any script, RFC 6266)
      el.download.classList.remove("is-disabled");
      el.download.removeAttribute("aria-disabled");
      el.download.removeAttribute("tabindex");
    } else {
      el.download.removeAttribute("href");
      el.download.removeAttribute("download");
      el.download.classList.add("is-disabled");
      el.download.setAttribute("aria-disabled", "true");
      el.download.setAttribute("tabindex", "-1");
    }
  }
  el.format.addEventListener("change", updateDownload);

  // ---------------------------------------------------------------- look

  function updateLookOutputs() {
    el.temperatureOut.textContent = Number(el.temperature.value).toFixed(2);
    el.saturationOut.textContent = `${Math.round(el.saturation.value * 100)}%`;
    el.strengthOut.textContent = `${Math.round(el.strength.value * 100)}%`;
  }
  for (const input of [el.temperature, el.saturation, el.strength]) {
    input.addEventListener("input", () => { updateLookOutputs(); renderSoon(); });
  }
  el.levels.addEventListener("change", () => {
    requestRender();
    if (el.showOverlay.checked) el.showOverlay.dispatchEvent(new Event("change"));  // its overlay, too
  });
  el.resetLook.addEventListener("click", () => {
    el.temperature.value = lookDefaults.temperature;
    el.saturation.value = lookDefaults.saturation;
    if (el.levels.checked) {
      el.levels.checked = false;
      if (el.showOverlay.checked) el.showOverlay.dispatchEvent(new Event("change"));
    }
    updateLookOutputs();
    requestRender();
  });
  updateLookOutputs();

  // ---------------------------------------------------------------- before / after

  function setSplit(pct) {
    state.split = Math.max(0, Math.min(100, pct));
    el.afterWrap.style.clipPath = `inset(0 0 0 ${state.split}%)`;
    el.divider.style.left = `${state.split}%`;
    el.compare.value = String(Math.round(state.split));
    el.compare.setAttribute("aria-valuetext",
      state.split <= 0 ? "all after" : state.split >= 100 ? "all before" : `${Math.round(state.split)}% before`);
  }
  el.compare.addEventListener("input", () => setSplit(Number(el.compare.value)));
  el.knob.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    e.stopPropagation();
    el.knob.setPointerCapture(e.pointerId);
    const move = (ev) => {
      const r = el.frame.getBoundingClientRect();
      setSplit(((ev.clientX - r.left) / r.width) * 100);
    };
    const up = () => {
      el.knob.removeEventListener("pointermove", move);
      el.knob.removeEventListener("pointerup", up);
      el.knob.removeEventListener("pointercancel", up);
    };
    el.knob.addEventListener("pointermove", move);
    el.knob.addEventListener("pointerup", up);
    el.knob.addEventListener("pointercancel", up);
  });

  // ---------------------------------------------------------------- coordinates

  function toPhoto(clientX, clientY) {
    const r = el.before.getBoundingClientRect();
    const { width, height } = state.photo;
    const x = Math.floor(((clientX - r.left) / r.width) * width);
    const y = Math.floor(((clientY - r.top) / r.height) * height);
    return { x: clamp(x, 0, width - 1), y: clamp(y, 0, height - 1) };
  }
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  function place(node, x, y) {
    node.style.left = `${((x + 0.5) / state.photo.width) * 100}%`;
    node.style.top = `${((y + 0.5) / state.photo.height) * 100}%`;
  }
  /** Photo pixels per screen pixel (for nudging by one screen pixel). */
  function photoStep() {
    const r = el.before.getBoundingClientRect();
    return Math.max(1, Math.round(state.photo.width / Math.max(1, r.width)));
  }

  // ---------------------------------------------------------------- clicking the photo

  let press = null;
  el.frame.addEventListener("pointerdown", (e) => {
    if (!state.photo || e.button > 0) return;
    if (e.target.closest(".marker") || e.target === el.knob) return;
    press = { x: e.clientX, y: e.clientY };
  });
  el.frame.addEventListener("pointerup", (e) => {
    if (!press || !state.photo) return;
    const moved = Math.hypot(e.clientX - press.x, e.clientY - press.y);
    press = null;
    if (moved > 6) return;  // a swipe or drag, not a tap
    const p = toPhoto(e.clientX, e.clientY);
    el.crosshair.hidden = true;
    pickSpot(p.x, p.y);
  });

  el.frame.addEventListener("pointercancel", () => { press = null; });  // the page scrolled (touch-action: pan-y)

  // Keyboard: a crosshair moved with the arrows, Enter picks the spot.
  el.frame.addEventListener("focus", () => {
    if (!state.photo || document.activeElement !== el.frame) return;
    el.crosshair.hidden = false;
    placeCrosshair();
  });
  el.frame.addEventListener("blur", () => { el.crosshair.hidden = true; });
  el.frame.addEventListener("keydown", (e) => {
    if (e.target !== el.frame || !state.photo) return;
    const step = e.shiftKey ? 0.1 : 0.02;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[e.key]) {
      e.preventDefault();
      state.cursor.x = clamp(state.cursor.x + moves[e.key][0], 0, 0.999);
      state.cursor.y = clamp(state.cursor.y + moves[e.key][1], 0, 0.999);
      el.crosshair.hidden = false;
      placeCrosshair();
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      pickSpot(Math.floor(state.cursor.x * state.photo.width), Math.floor(state.cursor.y * state.photo.height));
    } else if (e.key === "Escape") {
      closePoint();
    }
  });
  function placeCrosshair() {
    el.crosshair.style.left = `${state.cursor.x * 100}%`;
    el.crosshair.style.top = `${state.cursor.y * 100}%`;
  }

  /** A spot was picked: show the model's suggestions there and the colour picker. */
  function pickSpot(x, y) {
    state.selected = -1;
    state.pending = { x, y };
    place(el.pending, x, y);
    el.pending.hidden = false;
    renderHints();
    openPoint(x, y, false);
  }

  const narrow = window.matchMedia("(max-width: 920px)");
  function openPoint(x, y, forHint) {
    el.pointCard.hidden = false;
    // The card may be scrolled away (or below the photo on a phone): bring it into view.
    requestAnimationFrame(() => {
      const r = el.pointCard.getBoundingClientRect();
      const header = document.querySelector(".topbar").getBoundingClientRect().bottom;
      if (r.top < header || r.top > window.innerHeight - 120) {
        el.pointCard.scrollIntoView({ block: narrow.matches ? "nearest" : "start", behavior: "smooth" });
      }
    });
    el.pointXY.textContent = `(${x}, ${y})`;
    el.addHint.textContent = forHint ? "Apply colour" : "Add hint";
    el.removeSelected.hidden = !forHint;
    el.swatchNote.textContent = forHint
      ? "Pick a colour for this hint; the model's most likely colours here:"
      : "The model's most likely colours here (click one to add a hint):";
    if (forHint) {
      const h = state.hints[state.selected];
      el.customColor.value = h.color;
      el.radius.value = String(h.radius);
      updateRadiusOut();
    }
    loadSuggestions(x, y);
  }

  function closePoint() {
    state.pending = null;
    el.pending.hidden = true;
    el.pointCard.hidden = true;
    if (state.selected >= 0) { state.selected = -1; renderHints(); }
  }
  el.closePoint.addEventListener("click", () => { closePoint(); el.frame.focus(); });

  async function loadSuggestions(x, y) {
    // Picking a swatch reopens the card at the same spot: keep its swatches (and the keyboard focus on them).
    const key = [state.photo.id, x, y, state.ref && refMode() === "palette" ? state.ref.id : "", el.levels.checked].join();
    if (key === state.suggestKey && el.swatches.querySelector(".swatch")) return;
    state.suggestKey = key;
    const focused = el.swatches.contains(document.activeElement) ? document.activeElement.dataset.hex : null;
    const seq = ++state.suggestSeq;
    el.swatches.innerHTML = '<p class="loading"><span class="spinner" aria-hidden="true"></span>Asking the model…</p>';
    const form = new FormData();
    form.append("id", state.photo.id);
    form.append("x", String(x));
    form.append("y", String(y));
    form.append("k", "6");
    if (state.ref && refMode() === "palette") form.append("reference_id", state.ref.id);  // same steer as the result
    form.append("levels", el.levels.checked ? "true" : "false");  // the same network input as the result
    try {
      const res = await post("/api/suggest", form);
      const data = await res.json();
      if (seq !== state.suggestSeq) return;
      el.swatches.innerHTML = "";
      for (const s of data.suggestions) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "swatch";
        b.style.setProperty("--c", s.hex);
        b.dataset.hex = s.hex;
        const pct = Math.round(s.probability * 100);
        b.setAttribute("aria-label", `Use ${s.hex}, ${pct}% likely`);
        b.innerHTML = `<span class="swatch-chip"></span><span class="swatch-hex">${s.hex}</span>`
          + `<span class="swatch-p"><span class="swatch-bar"><i style="--p:${Math.max(2, pct)}%"></i></span>${pct}%</span>`;
        b.addEventListener("click", () => applyColour(s.hex));
        el.swatches.append(b);
      }
      if (!data.suggestions.length) el.swatches.innerHTML = '<p class="loading">No suggestion here (too dark or too bright).</p>';
      if (focused) {  // the focused swatch was replaced: focus its successor, not <body>
        const swatches = Array.from(el.swatches.querySelectorAll(".swatch"));
        (swatches.find((b) => b.dataset.hex === focused) || swatches[0] || el.customColor).focus();
      }
    } catch (err) {
      if (seq === state.suggestSeq) {
        el.swatches.innerHTML = "";
        state.suggestKey = null;
        showError(err.message);
      }
    }
  }

  function applyColour(hex) {
    if (state.selected >= 0) {
      state.hints[state.selected].color = hex;
      el.customColor.value = hex;
      renderHints();
      requestRender();
      return;
    }
    if (!state.pending) return;
    state.hints.push({ x: state.pending.x, y: state.pending.y, color: hex, radius: Number(el.radius.value) });
    state.pending = null;
    el.pending.hidden = true;
    state.selected = state.hints.length - 1;
    renderHints();
    openPoint(state.hints[state.selected].x, state.hints[state.selected].y, true);
    status("Hint added; updating…", { sticky: true });
    requestRender();
  }
  el.addHint.addEventListener("click", () => applyColour(el.customColor.value));
  el.customColor.addEventListener("input", () => {
    if (state.selected >= 0) {
      state.hints[state.selected].color = el.customColor.value;
      renderHints();
      renderSoon(350);
    }
  });
  function updateRadiusOut() { el.radiusOut.textContent = `${el.radius.value} px`; }
  el.radius.addEventListener("input", () => {
    updateRadiusOut();
    if (state.selected >= 0) {
      state.hints[state.selected].radius = Number(el.radius.value);
      renderSoon(350);
    }
  });
  el.removeSelected.addEventListener("click", () => removeHint(state.selected));

  // ---------------------------------------------------------------- hints: markers and list

  function removeHint(i) {
    if (i < 0 || i >= state.hints.length) return;
    state.hints.splice(i, 1);
    state.selected = -1;
    el.pointCard.hidden = true;
    renderHints();
    status(`Hint ${i + 1} removed.`);
    requestRender();
    el.frame.focus();
  }

  function selectHint(i, { focusMarker = false } = {}) {
    state.selected = i;
    state.pending = null;
    el.pending.hidden = true;
    renderHints();
    const h = state.hints[i];
    openPoint(h.x, h.y, true);
    if (focusMarker) {
      const m = el.markers.querySelector(`[data-index="${i}"]`);
      if (m) m.focus();
    }
  }

  function renderHints() {
    el.markers.innerHTML = "";
    el.hintList.innerHTML = "";
    state.hints.forEach((h, i) => {
      // marker on the photo
      const m = document.createElement("button");
      m.type = "button";
      m.className = "marker" + (i === state.selected ? " is-selected" : "");
      m.style.setProperty("--c", h.color);
      m.dataset.index = String(i);
      m.setAttribute("aria-label", `Hint ${i + 1}, ${h.color} at ${h.x}, ${h.y}. Arrow keys move it, Delete removes it.`);
      m.setAttribute("aria-pressed", String(i === state.selected));
      place(m, h.x, h.y);
      bindMarker(m, i);
      el.markers.append(m);
      // row in the list
      const li = document.createElement("li");
      li.className = "hint-item" + (i === state.selected ? " is-selected" : "");
      const sel = document.createElement("button");
      sel.type = "button";
      sel.className = "hint-select";
      sel.innerHTML = `<span class="hint-dot" style="--c:${h.color}"></span><span>Hint ${i + 1}</span>`
        + `<span class="hint-pos">(${h.x}, ${h.y})</span>`;
      sel.setAttribute("aria-label", `Select hint ${i + 1} at ${h.x}, ${h.y}`);
      sel.addEventListener("click", () => selectHint(i, { focusMarker: true }));
      const col = document.createElement("input");
      col.type = "color";
      col.value = h.color;
      col.setAttribute("aria-label", `Colour of hint ${i + 1}`);
      col.addEventListener("input", () => {
        h.color = col.value;
        m.style.setProperty("--c", h.color);
        sel.querySelector(".hint-dot").style.setProperty("--c", h.color);
        if (state.selected === i) el.customColor.value = h.color;
        renderSoon(350);
      });
      const del = document.createElement("button");
      del.type = "button";
      del.className = "icon-btn";
      del.textContent = "×";
      del.setAttribute("aria-label", `Remove hint ${i + 1}`);
      del.addEventListener("click", () => removeHint(i));
      li.append(sel, col, del);
      el.hintList.append(li);
    });
    el.hintCount.textContent = String(state.hints.length);
    el.noHints.hidden = state.hints.length > 0;
    el.clearHints.disabled = state.hints.length === 0;
  }

  function bindMarker(m, i) {
    m.addEventListener("pointerdown", (e) => {
      if (e.button > 0) return;
      e.preventDefault();
      e.stopPropagation();
      m.setPointerCapture(e.pointerId);
      const start = { x: e.clientX, y: e.clientY };
      let dragged = false;
      const move = (ev) => {
        if (!dragged && Math.hypot(ev.clientX - start.x, ev.clientY - start.y) < 4) return;
        dragged = true;
        const p = toPhoto(ev.clientX, ev.clientY);
        state.hints[i].x = p.x;
        state.hints[i].y = p.y;
        place(m, p.x, p.y);
      };
      const up = () => {
        m.removeEventListener("pointermove", move);
        m.removeEventListener("pointerup", up);
        m.removeEventListener("pointercancel", up);
        if (dragged) {
          selectHint(i, { focusMarker: true });
          status(`Hint ${i + 1} moved; updating…`, { sticky: true });
          requestRender();
        } else {
          selectHint(i, { focusMarker: true });
        }
      };
      m.addEventListener("pointermove", move);
      m.addEventListener("pointerup", up);
      m.addEventListener("pointercancel", up);
    });
    m.addEventListener("keydown", (e) => {
      const s = photoStep() * (e.shiftKey ? 10 : 1);
      const moves = { ArrowLeft: [-s, 0], ArrowRight: [s, 0], ArrowUp: [0, -s], ArrowDown: [0, s] };
      if (moves[e.key]) {
        e.preventDefault();
        const h = state.hints[i];
        h.x = clamp(h.x + moves[e.key][0], 0, state.photo.width - 1);
        h.y = clamp(h.y + moves[e.key][1], 0, state.photo.height - 1);
        place(m, h.x, h.y);
        if (state.selected !== i) state.selected = i;
        el.pointXY.textContent = `(${h.x}, ${h.y})`;
        m.setAttribute("aria-label", `Hint ${i + 1}, ${h.color} at ${h.x}, ${h.y}. Arrow keys move it, Delete removes it.`);
        const row = el.hintList.children[i];
        if (row) row.querySelector(".hint-pos").textContent = `(${h.x}, ${h.y})`;
        renderSoon(400);
      } else if (e.key === "Delete" || e.key === "Backspace") {
        e.preventDefault();
        removeHint(i);
      } else if (e.key === "Escape") {
        closePoint();
        el.frame.focus();
      }
    });
  }

  el.clearHints.addEventListener("click", () => {
    state.hints = [];
    closePoint();
    renderHints();
    requestRender();
  });

  // ---------------------------------------------------------------- reference photo

  function refMode() {
    const r = document.querySelector('input[name="ref-mode"]:checked');
    return r ? r.value : "palette";
  }

  async function openReference(file) {
    if (!file || !state.photo) return;
    if (uploading.ref) uploading.ref.abort();
    const ctrl = uploading.ref = new AbortController();
    clearError();
    status(`Uploading the reference ${file.name}…`, { sticky: true });
    el.pickRef.disabled = true;
    try {
      const ref = await upload(file, ctrl.signal);
      if (ctrl !== uploading.ref) return;
      state.ref = ref;
      clearImage(el.refThumb);
      loadImage(el.refThumb, `/api/upload/${ref.id}/image?max=320`, () => state.ref === ref)
        .catch((err) => showError(err.message));
      el.refName.textContent = ref.name;
      el.refBox.hidden = false;
      el.refEmpty.hidden = true;
      el.refOptions.disabled = false;
      el.pickRef.textContent = "Choose another reference…";
      updateTransferFields();
      requestRender();
    } catch (err) {
      if (ctrl === uploading.ref) { status(""); showError(err.message); }
    } finally {
      if (ctrl === uploading.ref) {
        uploading.ref = null;
        el.pickRef.disabled = false;
        el.refInput.value = "";
      }
    }
  }
  el.pickRef.addEventListener("click", () => {
    if (!state.photo) { showError("Open a photo first, then add a reference."); return; }
    el.refInput.click();
  });
  el.refInput.addEventListener("change", () => openReference(el.refInput.files[0]));
  el.removeRef.addEventListener("click", () => {
    if (uploading.ref) {  // a reference still uploading would appear when it arrives
      uploading.ref.abort();
      uploading.ref = null;
      el.pickRef.disabled = false;
      el.refInput.value = "";
      status("");
    }
    state.ref = null;
    clearImage(el.refThumb);
    el.refBox.hidden = true;
    el.refEmpty.hidden = false;
    el.refOptions.disabled = true;
    el.pickRef.textContent = "Choose a reference…";
    updateColourNote();
    requestRender();
    el.pickRef.focus();
  });
  function updateTransferFields() {
    const transfer = refMode() === "transfer";
    el.method.disabled = !transfer;
    el.strength.disabled = !transfer;
    el.transferFields.style.opacity = transfer ? "1" : "0.55";
    updateColourNote();
  }
  for (const r of document.querySelectorAll('input[name="ref-mode"]')) {
    r.addEventListener("change", () => { updateTransferFields(); requestRender(); });
  }
  el.method.addEventListener("change", requestRender);
  updateTransferFields();

  // ---------------------------------------------------------------- uncertainty overlay

  el.showOverlay.addEventListener("change", async () => {
    el.frame.classList.toggle("no-compare", el.showOverlay.checked);
    if (!el.showOverlay.checked) {
      el.overlay.hidden = true;
      el.legend.hidden = true;
      return;
    }
    if (!state.photo) return;
    // the overlay of the network input shown: this photo, with or without levels
    const overlayKey = () => state.photo && `${state.photo.id}:${el.levels.checked}`;
    const explainedKey = overlayKey();
    if (state.explained === explainedKey) {
      el.overlay.hidden = false;
      el.legend.hidden = false;
      return;
    }
    const current = () => overlayKey() === explainedKey;  // another photo or levels meanwhile: not wanted
    status("Measuring where the model is unsure…", { sticky: true });
    try {
      const form = new FormData();
      form.append("id", state.photo.id);
      form.append("response", "json");
      form.append("levels", el.levels.checked ? "true" : "false");
      const data = await (await post("/api/explain", form)).json();
      if (!current()) return;
      const shown = await loadImage(el.overlay, `/api/result/${data.id}.png?max=${PREVIEW}`, current);
      if (!current()) return;
      if (!shown) throw new Error("The uncertainty map could not be shown.");
      state.explained = explainedKey;
      el.overlayText.textContent = `Average uncertainty ${data.mean_bits.toFixed(1)} of at most ${data.max_bits.toFixed(1)} bits. `
        + "The map is stretched to this photo's own range: hints help most in the bright areas.";
      el.overlay.hidden = !el.showOverlay.checked;
      el.legend.hidden = !el.showOverlay.checked;
      status("");
    } catch (err) {
      if (!current()) return;
      el.showOverlay.checked = false;
      el.frame.classList.remove("no-compare");
      status("");
      showError(err.message);
    }
  });

  // ---------------------------------------------------------------- global keys

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !el.error.hidden) clearError();
  });
  // Hints live only in this page: ask before Back, Reload or closing the tab throws them away.
  window.addEventListener("beforeunload", (e) => {
    if (!state.photo || !state.hints.length) return;
    e.preventDefault();
    e.returnValue = "";
  });
  document.addEventListener("paste", (e) => {
    const file = e.clipboardData && Array.from(e.clipboardData.files || [])[0];
    if (file && file.type.startsWith("image/")) openPhoto(file);
  });
})();
