// Tiny DOM helpers: every string goes in as text (never as HTML), so nothing a
// node, device or channel reports can inject markup into the page.

/** Builds an element: h("td", { class: "x", onclick }, "text", child, …). */
export const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v)
    else el.setAttribute(k, v === true ? "" : String(v))
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return el
}

/** Replaces the children of the element with id `id`. */
export const fill = (id, ...children) => {
  const el = document.getElementById(id)
  if (el) el.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false))
  return el
}

/** A table with a header row; rows are arrays of cells (strings or elements). */
export const table = (headers, rows, empty) =>
  rows.length === 0
    ? h("p", { class: "muted" }, empty)
    : h("table", {}, h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c))))))

/** A short relative time ("12 s ago"). */
export const ago = (ms) => {
  if (typeof ms !== "number") return ""
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000))
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`
}

/** The first `max` characters of a string, with an ellipsis when cut. */
export const clip = (text, max = 2000) => {
  const s = typeof text === "string" ? text : JSON.stringify(text, null, 2) ?? ""
  return s.length > max ? `${s.slice(0, max)}…` : s
}
