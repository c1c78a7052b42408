// A safe stand-in for Python's eval() on the arithmetic the SemiEvol authors evaluate: numeric literals, unary and
// binary + - * /, parentheses. It accepts what Python would and refuses (null) what would raise, never running code.

/** Python 3 numeric literals: a float (a point or an exponent), or a decimal integer. */
const floatLiteral = /^(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|^\d+[eE][-+]?\d+/;
const integerLiteral = /^\d+/;
/** Python 3 refuses a decimal integer with a leading zero ("007"), but not one that is all zeros ("00"). */
const leadingZeroInteger = /^0+[1-9]/;

class Refused extends Error {}

class Parser {
  private position = 0;

  constructor(private readonly text: string) {}

  parse(): number {
    const value = this.sum();
    this.skipSpaces();
    if (this.position < this.text.length) throw new Refused();
    return value;
  }

  private skipSpaces(): void {
    while (this.text[this.position] === ' ' || this.text[this.position] === '\t') this.position++;
  }

  private peek(): string | undefined {
    this.skipSpaces();
    return this.text[this.position];
  }

  private sum(): number {
    let value = this.product();
    for (let op = this.peek(); op === '+' || op === '-'; op = this.peek()) {
      this.position++;
      const right = this.product();
      value = op === '+' ? value + right : value - right;
    }
    return value;
  }

  private product(): number {
    let value = this.unary();
    for (let op = this.peek(); op === '*' || op === '/'; op = this.peek()) {
      this.position++;
      const right = this.unary();
      // Python raises ZeroDivisionError where JavaScript would give an infinity.
      if (op === '/' && right === 0) throw new Refused();
      value = op === '*' ? value * right : value / right;
    }
    return value;
  }

  private unary(): number {
    const op = this.peek();
    if (op === '+' || op === '-') {
      this.position++;
      const operand = this.unary();
      return op === '-' ? -operand : operand;
    }
    if (op === '(') {
      this.position++;
      const value = this.sum();
      if (this.peek() !== ')') throw new Refused();
      this.position++;
      return value;
    }
    return this.literal();
  }

  private literal(): number {
    const rest = this.text.slice(this.position);
    const float = floatLiteral.exec(rest)?.[0];
    const literal = float ?? integerLiteral.exec(rest)?.[0];
    if (!literal || (!float && leadingZeroInteger.test(literal))) throw new Refused();
    this.position += literal.length;
    return Number(literal);
  }
}

/**
 * The value Python's eval() gives `expression` when it is arithmetic on numeric literals, or null where eval would
 * raise (a syntax error, "007", a division by zero). Anything else (names, calls, `**`, `//`) is refused too.
 */
export function evaluatePythonArithmetic(expression: string): number | null {
  try {
    return new Parser(expression).parse();
  } catch (error) {
    if (error instanceof Refused) return null;
    throw error;
  }
}
