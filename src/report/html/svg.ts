/** Tiny helpers to write HTML/SVG as strings, escaping every text and attribute. */

export function esc(s: string | number | boolean): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export type Attrs = Record<string, string | number | boolean | undefined>;

export function attrs(a: Attrs): string {
  return Object.entries(a)
    .filter(([, v]) => v !== undefined && v !== false)
    .map(([k, v]) => (v === true ? ` ${k}` : ` ${k}="${esc(v as string | number)}"`))
    .join('');
}

/** An element; `children` is already-escaped markup. */
export function el(tag: string, a: Attrs = {}, children = ''): string {
  return `<${tag}${attrs(a)}>${children}</${tag}>`;
}

/** A tooltip: SVG shows <title> on hover. */
export function title(text: string): string {
  return `<title>${esc(text)}</title>`;
}

/** Rounds coordinates so the markup stays small and stable. */
export const r1 = (n: number) => Math.round(n * 10) / 10;

/** Method colours, chosen to stay distinguishable for common colour-vision deficiencies. */
export const METHOD_COLOURS: Record<string, string> = {
  layering: '#3d6fd6',
  'layering-on-cluster': '#8fb0ee',
  dtk: '#e07b24',
  'dtk-tracking': '#f2b37a',
  kmm: '#1f9e89',
};
export const colourOf = (method: string) => METHOD_COLOURS[method] ?? '#6b7280';
