/**
 * Pure: text from outside (a server's error body, a label value someone pushed) made safe to
 * print to a terminal or paste into a chat, and our own secrets kept out of it.
 */

/**
 * Control characters (C0, DEL, C1: terminal escapes, CR/LF that would forge a line) written as
 * `\u001b`-style escapes; everything else as is.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Credentials shorter than this are not masked inside other text (a 1-character "password" would mask every such letter). */
const MIN_SECRET = 4;

/**
 * Every occurrence of each secret (a header value such as `Bearer <token>`, the token alone, a
 * password) replaced by `***`, longest first, so that a receiver echoing our Authorization
 * header back (vmauth -logInvalidAuthTokens does) cannot put it in our log.
 */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  const sorted = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET).sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of sorted) out = out.split(secret).join('***');
  return out;
}

/** The parts of header values that are secrets: the whole value and, for `Scheme credentials`, the credentials alone. */
export function secretsOf(headers: Readonly<Record<string, string>>): string[] {
  return Object.values(headers).flatMap((value) => {
    const space = value.indexOf(' ');
    const credentials = space > 0 ? value.slice(space + 1).trim() : '';
    const decoded = /^basic$/i.test(value.slice(0, space)) ? basicParts(credentials) : [];
    return [value, ...(credentials ? [credentials] : []), ...decoded];
  });
}

function basicParts(credentials: string): string[] {
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? [] : [decoded, decoded.slice(colon + 1)];
}
