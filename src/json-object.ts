/** A parsed JSON object (a parse tree's node), as opposed to an array, null or a scalar. */
export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
