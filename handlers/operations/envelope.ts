/** The `ApiResponse_*` envelope: the data and a `meta` with the request id and the time. */
export function envelope<T>(data: T, ctx: { requestId: string }, now: Date): { data: T; meta: { request_id: string; timestamp: string } } {
  return { data, meta: { request_id: ctx.requestId, timestamp: now.toISOString() } };
}
