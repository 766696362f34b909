const APOSTROPHE = 0x27;

function isWordByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === APOSTROPHE;
}

/**
 * Word counts by the `wordcount` module's definition: maximal runs of bytes in [A-Za-z0-9'],
 * ASCII-lowercased, leading and trailing apostrophes removed, empty results dropped; every
 * other byte (non-ASCII UTF-8 included) separates. Strings are UTF-8 encoded first; several
 * inputs are counted together as if separated. The map iterates in ascending key order.
 */
export function wordcount(...inputs: Array<Uint8Array | string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const input of inputs) {
    const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
    let i = 0;
    while (i < bytes.length) {
      while (i < bytes.length && !isWordByte(bytes[i]!)) i++;
      let start = i;
      while (i < bytes.length && isWordByte(bytes[i]!)) i++;
      let end = i;
      while (start < end && bytes[start] === APOSTROPHE) start++;
      while (end > start && bytes[end - 1] === APOSTROPHE) end--;
      if (start === end) continue;
      const word = String.fromCharCode(...bytes.subarray(start, end)).toLowerCase();
      counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  // Keys are ASCII, so UTF-16 order (the default sort) is byte order.
  return new Map([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The exact text the module prints for these counts: {"word":n,...} in ascending key order, no
 * spaces, then a newline. (JSON.stringify of an object would move keys like "42" to the front.)
 */
export function formatWordcount(counts: Map<string, number>): string {
  const keys = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${counts.get(k)}`).join(',')}}\n`;
}

/** Parses the module's output back into an ordered map (keys keep the printed order). */
export function parseWordcount(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/"([^"]*)":(\d+)/g)) counts.set(m[1]!, Number(m[2]));
  return counts;
}
