/** Checks a data frame's wire columns against the schema's layouts before any byte is read. */
import type { WireColumn, WireKind } from './frames.js';

export interface WireLayout {
  wire: WireKind;
  width?: number;
}

/** Refuses columns whose sizes do not add up, before any byte reaches DuckDB's memory. */
export function checkWireColumns(
  layouts: WireLayout[],
  columns: WireColumn[],
  rows: number,
): string | undefined {
  if (!Array.isArray(columns) || columns.length !== layouts.length) {
    return `expected ${layouts.length} columns, got ${Array.isArray(columns) ? columns.length : 'none'}`;
  }
  for (let c = 0; c < layouts.length; c++) {
    const { data, offsets, nulls } = columns[c];
    if (!(data instanceof Uint8Array)) return `column ${c} has no data bytes`;
    if (nulls !== undefined && (!(nulls instanceof Uint8Array) || nulls.length !== rows)) {
      return `column ${c} has a null mask of the wrong length`;
    }
    if (layouts[c].wire === 'fixed') {
      const expected = rows * (layouts[c].width as number);
      if (data.length !== expected)
        return `column ${c} holds ${data.length} bytes where ${expected} were expected`;
      continue;
    }
    if (!(offsets instanceof Int32Array) || offsets.length !== rows + 1 || offsets[0] !== 0) {
      return `column ${c} has bad offsets`;
    }
    for (let i = 0; i < rows; i++) {
      if (offsets[i + 1] < offsets[i]) return `column ${c} has decreasing offsets`;
    }
    if (offsets[rows] !== data.length) return `column ${c} offsets do not match its ${data.length} bytes`;
  }
  return undefined;
}
