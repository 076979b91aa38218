/**
 * JSON.stringify({ ...body, model }) without copying the body: the client's `model` is swapped
 * for the target's while the body is serialised, then put back (nothing else runs in between).
 * Same text, key for key: an own key keeps its place either way, a missing one goes last. A body
 * that does not take the swap (frozen by a hook, an accessor) is copied as before.
 */
export function jsonWithModel(body: Record<string, unknown>, model: string): string {
  if (!Object.hasOwn(body, 'model')) return JSON.stringify({ ...body, model });
  const client = body.model;
  try {
    body.model = model;
  } catch {
    return JSON.stringify({ ...body, model });
  }
  try {
    return body.model === model ? JSON.stringify(body) : JSON.stringify({ ...body, model });
  } finally {
    body.model = client;
  }
}
