// Errors as the OpenAI API shapes them, so that its clients show them:
//   { "error": { "message": "...", "type": "invalid_request_error", "param": "messages", "code": null } }
// Every 4xx is thrown as an ApiError before anything is written.

export type ErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function errorBody(type: ErrorType, message: string, param: string | null = null, code: string | null = null) {
  return { error: { message, type, param, code } };
}

export const notFound = (what: string, param: string | null = null) => new ApiError(404, 'not_found_error', what, param, 'not_found');
export const badRequest = (message: string, param: string | null = null, code: string | null = null) => new ApiError(400, 'invalid_request_error', message, param, code);
