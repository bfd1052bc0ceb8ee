/** A well-formedness check for the SVG charts (tests/io/plot.test.ts, tests/cli/compare.test.ts). */

/**
 * Checks that `text` is well-formed XML (one root, every tag closed in order, quoted attributes,
 * no stray `<` or `&`) and returns the element names in document order. Small on purpose: the
 * project has no XML parser, and an SVG from vega needs no DTDs or namespaces resolved.
 */
export function xmlElements(text: string): string[] {
  const names: string[] = [];
  const open: string[] = [];
  let roots = 0;
  const token = /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\/([A-Za-z_][\w:.-]*)\s*>|<([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|([^<]+)/y;
  let at = 0;
  while (at < text.length) {
    token.lastIndex = at;
    const m = token.exec(text);
    if (m === null) throw new Error(`not well-formed at offset ${at}: ${JSON.stringify(text.slice(at, at + 40))}`);
    at = token.lastIndex;
    const [, close, name, , selfClosing, chars] = m;
    if (close !== undefined) {
      const expected = open.pop();
      if (expected !== close) throw new Error(`</${close}> closes <${expected ?? 'nothing'}>`);
    } else if (name !== undefined) {
      if (open.length === 0 && ++roots > 1) throw new Error(`a second root element <${name}>`);
      names.push(name);
      if (selfClosing !== '/') open.push(name);
    } else if (chars !== undefined) {
      if (open.length === 0 && chars.trim() !== '') throw new Error('text outside the root element');
      if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(chars)) throw new Error(`a bare & in ${JSON.stringify(chars.slice(0, 40))}`);
    }
  }
  if (open.length > 0) throw new Error(`<${open[open.length - 1]}> is never closed`);
  if (roots !== 1) throw new Error('no root element');
  return names;
}
