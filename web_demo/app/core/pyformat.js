// Python's formatting and rounding, so the page's messages and JSON lines read as the Python
// side writes them: validate_sidecar quotes values with repr() (contract/card.py), and the
// prediction lines round with round() (runtime/scoring.py, runtime/cli.py).

/** Python's repr() of a JSON value: 'text', None, True, [1, 2], 0.5, 1e-05. */
export function pyRepr(value) {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return pyNumber(value);
  if (typeof value === 'string') return pyString(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${pyString(k)}: ${pyRepr(v)}`).join(', ')}}`;
  }
  return String(value);
}

/**
 * A number as Python's str()/repr() writes it. JSON.parse cannot tell 2 from 2.0, so an
 * integral value is written as an int: the one place the message can differ from Python's.
 */
export function pyNumber(x) {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (Number.isInteger(x)) return BigInt(x).toString();
  // shortest round-trip digits (as repr), laid out by Python's rule: exponent form below 1e-4
  // or from 1e16 up, at least two exponent digits
  const [mantissa, expText] = x.toExponential().split('e');
  const exp = Number(expText);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const digits = mantissa.replace('-', '').replace('.', '');
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const frac = digits.slice(exp + 1);
  return `${sign}${whole}.${frac || '0'}`;
}

function pyString(s) {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0);
    if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/**
 * Python's round(x, digits) for a float: the exact binary value rounded to `digits`
 * decimals, ties to even. toFixed rounds the exact value too but sends ties up, so
 * only an exact tie (a value such as 1/128) needs the even digit chosen here.
 */
export function pyRound(x, digits) {
  if (!Number.isFinite(x) || Math.abs(x) >= 1e21) return x;
  const ax = Math.abs(x);
  let text = ax.toFixed(digits);
  const exact = ax.toFixed(100); // every digit a tie could need (a tie has digits + 1 decimals)
  const dot = exact.indexOf('.');
  if (/^50*$/.test(exact.slice(dot + 1 + digits))) {
    const kept = digits > 0 ? exact.slice(0, dot + 1 + digits) : exact.slice(0, dot);
    if (Number(kept[kept.length - 1]) % 2 === 0) text = kept;
  }
  const value = Number(text);
  return x < 0 ? -value : value;
}
