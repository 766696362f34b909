/**
 * wordcount — counts words in its input and prints them as JSON with sorted keys.
 *
 *   wordcount [file ...]       (no files: read all of stdin; files: absolute guest paths, e.g. /in/a.txt)
 *
 * A word is a maximal run of bytes from [A-Za-z0-9'], lowercased (ASCII only), with leading
 * and trailing apostrophes removed; a run that is then empty is not a word. Every other byte —
 * whitespace, punctuation, and every byte of a non-ASCII UTF-8 character — separates words.
 * Several files are counted as one input with a separator between them.
 *
 * Output: {"word":count,...} and a newline, keys in ascending byte order, no spaces; {} for no
 * words. Word keys contain only [a-z0-9'], so no JSON escaping is needed.
 */
import { args, readAll, readFile, STDIN, STDOUT, writeAll } from "./lib/io";

/** 1 for bytes that may be part of a word: A-Z, a-z, 0-9 and the apostrophe. */
const WORD_BYTE = new StaticArray<u8>(256);
for (let c = 0; c < 256; c++) {
  const isWord = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 39;
  WORD_BYTE[c] = isWord ? 1 : 0;
}

const counts = new Map<string, u32>();

/** Adds every word of `data` to `counts`; lowercases `data` in place. */
function countWords(data: Uint8Array): void {
  const base = data.dataStart;
  const n = data.length;
  let i = 0;
  while (i < n) {
    while (i < n && unchecked(WORD_BYTE[load<u8>(base + <usize>i)]) == 0) i++;
    let start = i;
    while (i < n && unchecked(WORD_BYTE[load<u8>(base + <usize>i)]) != 0) {
      const c = load<u8>(base + <usize>i);
      if (c >= 65 && c <= 90) store<u8>(base + <usize>i, c + 32);
      i++;
    }
    let end = i;
    while (start < end && load<u8>(base + <usize>start) == 39) start++;
    while (end > start && load<u8>(base + <usize>(end - 1)) == 39) end--;
    if (start == end) continue;
    const word = String.UTF8.decodeUnsafe(base + <usize>start, <usize>(end - start));
    counts.set(word, counts.has(word) ? counts.get(word) + 1 : 1);
  }
}

/** Buffers output and writes it to stdout in large chunks. */
class Output {
  private buf: Uint8Array = new Uint8Array(64 * 1024);
  private len: i32 = 0;

  /** Appends an ASCII string (all output here is ASCII). */
  ascii(text: string): void {
    const n = text.length;
    if (this.len + n > this.buf.length) this.flush();
    if (n > this.buf.length) this.buf = new Uint8Array(n);
    const at = this.buf.dataStart + <usize>this.len;
    for (let i = 0; i < n; i++) store<u8>(at + <usize>i, <u8>text.charCodeAt(i));
    this.len += n;
  }

  flush(): void {
    writeAll(STDOUT, this.buf.dataStart, <usize>this.len);
    this.len = 0;
  }
}

const files = args();
if (files.length == 0) {
  countWords(readAll(STDIN));
} else {
  // Each file is counted separately, which is the same as joining them with a separator.
  for (let f = 0; f < files.length; f++) countWords(readFile(files[f]));
}

const keys = counts.keys();
keys.sort((a: string, b: string): i32 => (a < b ? -1 : a > b ? 1 : 0));
const out = new Output();
out.ascii("{");
for (let k = 0; k < keys.length; k++) {
  const word = unchecked(keys[k]);
  out.ascii(k == 0 ? '"' : ',"');
  out.ascii(word);
  out.ascii('":');
  out.ascii(counts.get(word).toString());
}
out.ascii("}\n");
out.flush();
