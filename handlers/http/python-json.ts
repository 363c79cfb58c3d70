/**
 * Where and why CPython's `json.loads` (3.11/3.12, the C scanner) refuses a document, so a malformed
 * body is reported as FastAPI reports it: loc ["body", e.pos], ctx {error: e.msg}. Used only after
 * JSON.parse has already refused the text; positions are in code points (Python str indexes), not
 * UTF-16 units. NaN, Infinity and -Infinity, which Python accepts, are reported as "Expecting value"
 * at their position: the server keeps refusing them (a deliberate difference from FastAPI).
 */
export interface PythonJsonError {
  msg: string;
  pos: number;
}

class Failure extends Error {
  constructor(
    readonly msg: string,
    readonly pos: number,
  ) {
    super(msg);
  }
}

const isWhitespace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isHex = (c: string | undefined) => c !== undefined && /^[0-9a-fA-F]$/.test(c);

export function pythonJsonError(text: string): PythonJsonError | undefined {
  const s = Array.from(text); // code points, as Python indexes a str
  const len = s.length;
  const skip = (i: number) => {
    while (i < len && isWhitespace(s[i])) i++;
    return i;
  };
  const word = (i: number, w: string) => s.slice(i, i + w.length).join('') === w;

  const scanString = (begin: number): number => {
    // begin is the index of the opening quote; returns the index after the closing quote.
    let i = begin + 1;
    for (;;) {
      let c: string | undefined;
      for (; i < len; i++) {
        c = s[i]!;
        if (c === '"' || c === '\\') break;
        if (c.codePointAt(0)! <= 0x1f) throw new Failure('Invalid control character at', i);
      }
      if (i >= len) throw new Failure('Unterminated string starting at', begin);
      i++;
      if (c === '"') return i;
      if (i === len) throw new Failure('Unterminated string starting at', begin);
      const e = s[i]!;
      if (e !== 'u') {
        if (!'"\\/bfnrt'.includes(e)) throw new Failure('Invalid \\escape', i - 1);
        i++;
        continue;
      }
      i++;
      const end = i + 4;
      if (end >= len) throw new Failure('Invalid \\uXXXX escape', i - 1);
      for (let k = i; k < end; k++) if (!isHex(s[k])) throw new Failure('Invalid \\uXXXX escape', end - 5);
      const code = parseInt(s.slice(i, end).join(''), 16);
      i = end;
      if (code >= 0xd800 && code <= 0xdbff && end + 6 < len && s[i] === '\\' && s[i + 1] === 'u') {
        const end2 = i + 6;
        for (let k = i + 2; k < end2; k++) if (!isHex(s[k])) throw new Failure('Invalid \\uXXXX escape', end2 - 5);
        const low = parseInt(s.slice(i + 2, end2).join(''), 16);
        if (low >= 0xdc00 && low <= 0xdfff) i = end2;
      }
    }
  };

  const scanNumber = (start: number): number | undefined => {
    let i = start;
    if (s[i] === '-') i++;
    if (isDigit(s[i]) && s[i] !== '0') {
      while (isDigit(s[i])) i++;
    } else if (s[i] === '0') {
      i++;
    } else {
      return undefined;
    }
    if (s[i] === '.' && isDigit(s[i + 1])) {
      i += 2;
      while (isDigit(s[i])) i++;
    }
    if (s[i] === 'e' || s[i] === 'E') {
      let j = i + 1;
      if (s[j] === '-' || s[j] === '+') j++;
      if (isDigit(s[j])) {
        while (isDigit(s[j])) j++;
        i = j;
      }
    }
    return i;
  };

  const scanValue = (i: number, depth: number): number => {
    if (i >= len) throw new Failure('Expecting value', i);
    const c = s[i];
    if (c === '"') return scanString(i);
    if (c === '{') return scanObject(i + 1, depth + 1);
    if (c === '[') return scanArray(i + 1, depth + 1);
    if (c === 'n' && word(i, 'null')) return i + 4;
    if (c === 't' && word(i, 'true')) return i + 4;
    if (c === 'f' && word(i, 'false')) return i + 5;
    const end = scanNumber(i);
    if (end !== undefined) return end;
    throw new Failure('Expecting value', i);
  };

  const scanObject = (start: number, depth: number): number => {
    let i = skip(start);
    if (i < len && s[i] === '}') return i + 1;
    for (;;) {
      if (i >= len || s[i] !== '"') throw new Failure('Expecting property name enclosed in double quotes', i);
      i = skip(scanString(i));
      if (i >= len || s[i] !== ':') throw new Failure("Expecting ':' delimiter", i);
      i = skip(i + 1);
      i = skip(scanValue(i, depth));
      if (i < len && s[i] === '}') return i + 1;
      if (i >= len || s[i] !== ',') throw new Failure("Expecting ',' delimiter", i);
      i = skip(i + 1);
    }
  };

  const scanArray = (start: number, depth: number): number => {
    let i = skip(start);
    if (i < len && s[i] === ']') return i + 1;
    for (;;) {
      i = skip(scanValue(i, depth));
      if (i < len && s[i] === ']') return i + 1;
      if (i >= len || s[i] !== ',') throw new Failure("Expecting ',' delimiter", i);
      i = skip(i + 1);
    }
  };

  try {
    const end = skip(scanValue(skip(0), 0));
    if (end !== len) return { msg: 'Extra data', pos: end };
    return undefined;
  } catch (error) {
    if (error instanceof Failure) return { msg: error.msg, pos: error.pos };
    // Nesting deep enough to exhaust the stack (Python gives up far earlier, with a RecursionError).
    if (error instanceof RangeError) return { msg: 'Expecting value', pos: 0 };
    throw error;
  }
}
