/** JSON text written as UTF-8 bytes: strings escaped as JSON.stringify escapes them. */
import { ByteBuilder } from './byte-builder.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** JSON.stringify's two-character escapes; other bytes under 0x20 become \u00xx. */
const SHORT_ESCAPES = new Map([
  [0x08, 0x62],
  [0x09, 0x74],
  [0x0a, 0x6e],
  [0x0c, 0x66],
  [0x0d, 0x72],
  [QUOTE, QUOTE],
  [BACKSLASH, BACKSLASH],
]);
const HEX = Buffer.from('0123456789abcdef');
/** JSON's null. */
export const NULL_JSON = Buffer.from('null');

/** JSON text as UTF-8 bytes, in a ByteBuilder of its own (its bytes are handed out whole). */
export class JsonBytes extends ByteBuilder {
  /** `source[from, to)`, valid UTF-8, as a JSON string literal. */
  jsonString(source: Uint8Array, from: number, to: number): void {
    this.reserve((to - from) * 6 + 2);
    const buf = this.buf;
    let at = this.length;
    buf[at++] = QUOTE;
    for (let i = from; i < to; i++) {
      const b = source[i];
      if (b >= 0x20 && b !== QUOTE && b !== BACKSLASH) {
        buf[at++] = b;
        continue;
      }
      buf[at++] = BACKSLASH;
      const short = SHORT_ESCAPES.get(b);
      if (short !== undefined) {
        buf[at++] = short;
      } else {
        buf[at++] = 0x75; // u
        buf[at++] = 0x30;
        buf[at++] = 0x30;
        buf[at++] = HEX[b >> 4];
        buf[at++] = HEX[b & 15];
      }
    }
    buf[at++] = QUOTE;
    this.length = at;
  }
}
