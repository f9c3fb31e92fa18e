/**
 * API errors as the Kubernetes API returns them: a `Status` object with the HTTP code,
 * a machine-readable reason and a human message (k8s.io/apimachinery
 * pkg/api/errors/errors.go). kubectl prints `message` and branches on `reason`.
 */
export type Obj = Record<string, any>;

export interface StatusCause {
  type: string;
  message: string;
  field?: string;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[]; retryAfterSeconds?: number },
  ) {
    super(message);
  }

  toStatus(): Obj {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, ...(this.details ? { details: this.details } : {}), code: this.code };
  }
}

/** `<resource>.<group>` as the API names a kind in messages (`deployments.apps`). */
export function qualified(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

export const notFound = (resource: string, group: string, name: string) =>
  new ApiError(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, { name, group, kind: resource });
export const alreadyExists = (resource: string, group: string, name: string) =>
  new ApiError(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, { name, group, kind: resource });
export const conflict = (resource: string, group: string, name: string, why: string) =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`, { name, group, kind: resource });
export const badRequest = (message: string) => new ApiError(400, 'BadRequest', message);
export const invalid = (kind: string, group: string, name: string, causes: StatusCause[]) =>
  new ApiError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${causes.map((c) => `${c.field ? `${c.field}: ` : ''}${c.message}`).join(', ')}`, {
    name,
    group,
    kind,
    causes,
  });
export const methodNotAllowed = (message: string) => new ApiError(405, 'MethodNotAllowed', message);
export const gone = (message: string) => new ApiError(410, 'Expired', message);
export const unsupportedMediaType = (message: string) => new ApiError(415, 'UnsupportedMediaType', message);
