/* Readable search results: Sphinx builds each result's snippet from the page's HTML, where math
 * is still TeX source (MathJax typesets it only in the reader's browser), so snippets showed
 * "\(e_{t,k} = \operatorname{score}(h_t, s_k)\)". This file, loaded on the search page only
 * (book/conf.py), rewrites every math element of a fetched page as plain text before Sphinx
 * cuts the snippet, and drops the print-only table of contents that began every snippet with
 * "Contents". Checked by tests/e2e/test_site.py. */
"use strict";

const TEX_WORDS = {
  alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε", eta: "η",
  theta: "θ", lambda: "λ", mu: "μ", pi: "π", rho: "ρ", sigma: "σ", tau: "τ", phi: "φ",
  psi: "ψ", omega: "ω", Delta: "Δ", Sigma: "Σ", Omega: "Ω", sum: "∑", prod: "∏",
  cdot: "·", times: "×", odot: "⊙", otimes: "⊗", le: "≤", leq: "≤", ge: "≥", geq: "≥",
  ne: "≠", neq: "≠", approx: "≈", propto: "∝", in: "∈", to: "→", rightarrow: "→",
  leftarrow: "←", mapsto: "↦", infty: "∞", top: "ᵀ", mid: "|", lvert: "|", rvert: "|",
  Vert: "‖", lVert: "‖", rVert: "‖", langle: "⟨", rangle: "⟩", dots: "…", ldots: "…",
  cdots: "⋯", sqrt: "√", partial: "∂", nabla: "∇", quad: " ", qquad: " ",
};
const TEX_DROPPED = /\\(?:left|right|big|Big|bigg|Bigg|displaystyle|limits|nolimits)(?![A-Za-z])/g;
const TEX_WRAPPERS =
  /\\(?:operatorname|text|textrm|textbf|textit|mathrm|mathbf|mathit|mathcal|mathbb|boldsymbol)\s*\{([^{}]*)\}/g;

/** TeX source as plain text a reader can follow: "softmax(W_o h_t)", "QKᵀ/√d". */
function texToText(tex) {
  return tex
    .trim()
    .replace(/^\\[([]|\\[)\]]$/g, "")
    .replace(/^\$\$?|\$\$?$/g, "")
    .replace(/\\(?:begin|end)\{[^{}]*\}/g, " ")
    .replace(/\\\\/g, "; ")
    .replace(TEX_WRAPPERS, "$1")
    .replace(/\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, "($1)/($2)")
    .replace(TEX_DROPPED, "")
    .replace(/\\[,;:! ]/g, " ")
    .replace(/\\([A-Za-z]+)/g, (_, name) => TEX_WORDS[name] ?? name)
    .replace(/\\([{}$%&_#|])/g, "$1")
    .replace(/[{}&]/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** The page's HTML with its math as plain text and without the print-only contents list. */
function readableHtml(htmlString) {
  const doc = new DOMParser().parseFromString(htmlString, "text/html");
  doc.querySelectorAll(".onlyprint").forEach((el) => el.remove());
  doc.querySelectorAll(".math").forEach((el) => {
    el.textContent = ` ${texToText(el.textContent)} `;
  });
  return doc.documentElement.outerHTML;
}

document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || typeof Search.htmlToText !== "function") return;
  const sphinxHtmlToText = Search.htmlToText;
  Search.htmlToText = (htmlString, anchor) => sphinxHtmlToText(readableHtml(htmlString), anchor);
});
