/**
 * The one place where errors become HTTP responses: `{ error: { code, message, details?, meta? } }`
 * with the status of the error's class. Unknown errors are logged and answered as INTERNAL.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { InternalError, LodeError, MalformedJsonError, TooLargeError, InvalidRequestError } from '@lode/protocol';

export function toLodeError(err: unknown): LodeError {
  if (err instanceof LodeError) return err;
  const fe = err as FastifyError;
  switch (fe?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new MalformedJsonError(fe.message);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new TooLargeError('The request body is larger than this gateway accepts. Upload large inputs as blobs.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new InvalidRequestError('Unsupported Content-Type. Send JSON (application/json) or, for blobs, application/octet-stream.');
  }
  if (err instanceof SyntaxError) return new MalformedJsonError(err.message);
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new InvalidRequestError(fe.message);
  }
  return new InternalError('The gateway failed to handle the request. It has been logged; try again.', { cause: err });
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const e = toLodeError(err);
    if (e instanceof InternalError) req.log.error({ err }, 'unhandled error');
    void reply.status(e.httpStatus).send({ error: e.toJSON() });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `No route ${req.method} ${req.url}. See the API list in docs/api.md.` } });
  });
}
