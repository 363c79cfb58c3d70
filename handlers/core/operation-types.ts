import type { OperationId, Operations, ProtocolOperationId, SuccessStatus, Tag, operationTags } from '../../generated/operations.ts';
import type { HandlerResult, RequestContext } from './request-context.ts';

/** The input a handler sees for one operation, typed from the generated contract. */
export type OperationContext<Id extends OperationId> = RequestContext<Operations[Id]['pathParams'], Operations[Id]['query'], Operations[Id]['body']>;

/**
 * Handlers return their success response; errors are thrown as ApiError and mapped centrally, so
 * the success body is the only shape a handler has to get right (and the compiler checks it).
 */
export type OperationResult<Id extends OperationId> = {
  [S in SuccessStatus<Id>]: HandlerResult<Operations[Id]['responses'][S]> & { status: S };
}[SuccessStatus<Id>];

export type OperationHandler<Id extends OperationId> = (ctx: OperationContext<Id>) => Promise<OperationResult<Id>>;

/** The operations the JSON router serves (the OpenID provider's protocol endpoints are routed apart). */
export type HandledOperationId = Exclude<OperationId, ProtocolOperationId>;

/** Every such operationId must have a handler: a missing or misspelled one is a compile error. */
export type OperationHandlers = { [Id in HandledOperationId]: OperationHandler<Id> };

/** The handlers of one spec tag, derived from the generated `operationTags` (no hand-kept lists). */
export type TagHandlers<T extends Tag> = { [Id in HandledOperationId as (typeof operationTags)[Id] extends T ? Id : never]: OperationHandler<Id> };
