// Python's reading of a flat list of string literals (`['a', "b"]`), the only result of `ast.literal_eval` the SemiEvol
// authors' `clean_string` goes on with, and Python's `str.strip()`; both for `authorsPackedAnswer`.

/** The characters Python's `str.isspace` accepts, which `str.strip()` removes (JavaScript's `trim` differs). */
const pythonSpace = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const pythonEnds = new RegExp(`^[${pythonSpace}]+|[${pythonSpace}]+$`, 'gu');

/** Python's `text.strip()`. */
export function pythonStrip(text: string): string {
  return text.replace(pythonEnds, '');
}

/** Python's `text.strip(chars)`: every character of `chars` removed from both ends. */
export function pythonStripChars(text: string, chars: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && chars.includes(text[start])) start++;
  while (end > start && chars.includes(text[end - 1])) end--;
  return text.slice(start, end);
}

const simpleEscapes: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\n': '',
};
const hexEscapeLength: Record<string, number> = { x: 2, u: 4, U: 8 };

/** Reads a list's source text; null for anything else. */
class ListReader {
  private at = 0;
  constructor(private readonly source: string) {}

  read(): string[] | null {
    if (!this.take('[')) return null;
    const items: string[] = [];
    while (!this.take(']')) {
      if (items.length > 0 && !this.take(',')) return null;
      if (items.length > 0 && this.take(']')) break; // a trailing comma
      const item = this.stringItem();
      if (item === null) return null;
      items.push(item);
    }
    this.skipSpace();
    return this.at === this.source.length ? items : null;
  }

  private skipSpace(): void {
    while (this.at < this.source.length && ' \t\n\r\f\v'.includes(this.source[this.at])) this.at++;
  }

  private take(char: string): boolean {
    this.skipSpace();
    if (this.source[this.at] !== char) return false;
    this.at++;
    return true;
  }

  /** One or more adjacent literals, which Python concatenates. */
  private stringItem(): string | null {
    let text = this.literal();
    if (text === null) return null;
    for (;;) {
      this.skipSpace();
      if (!`'"uU`.includes(this.source[this.at] ?? '')) return text;
      const next = this.literal();
      if (next === null) return null;
      text += next;
    }
  }

  /** A single- or double-quoted literal, plain or `u`-prefixed; null for others (raw, bytes, triple-quoted). */
  private literal(): string | null {
    this.skipSpace();
    if ('uU'.includes(this.source[this.at] ?? '')) this.at++;
    const quote = this.source[this.at];
    if (quote !== "'" && quote !== '"') return null;
    if (this.source.startsWith(quote.repeat(3), this.at)) return null;
    this.at++;
    let text = '';
    for (;;) {
      const char = this.source[this.at++];
      if (char === undefined || char === '\n') return null;
      if (char === quote) return text;
      if (char !== '\\') {
        text += char;
        continue;
      }
      const escaped = this.escape();
      if (escaped === null) return null;
      text += escaped;
    }
  }

  /** The text of the escape after a backslash; an unknown escape stays as written, as Python keeps it. */
  private escape(): string | null {
    const char = this.source[this.at++];
    if (char === undefined) return null;
    if (char in simpleEscapes) return simpleEscapes[char];
    const octal = /^[0-7]{1,3}/.exec(this.source.slice(this.at - 1));
    if (octal) {
      this.at += octal[0].length - 1;
      return String.fromCodePoint(parseInt(octal[0], 8));
    }
    const length = hexEscapeLength[char];
    if (length === undefined) return char === 'N' ? null : `\\${char}`;
    const digits = this.source.slice(this.at, this.at + length);
    if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(digits)) return null;
    this.at += length;
    const codePoint = parseInt(digits, 16);
    return codePoint > 0x10ffff ? null : String.fromCodePoint(codePoint);
  }
}

/**
 * The strings of a Python list literal of strings (`['a', "b"]`, adjacent literals joined, escapes read), or null
 * for any other text, including lists Python would read but whose items are not all plain strings.
 */
export function parsePythonStringList(source: string): string[] | null {
  return new ListReader(source).read();
}
