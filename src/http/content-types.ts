/**
 * The bodies the JSON endpoints read: `application/json`, and for `POST /query` also raw SQL
 * as `application/sql` (read as `{"query": <body>}`). `text/plain` and form bodies are what a
 * browser may send to another site without asking (a CSRF route), so they, and any other
 * type, are refused with 415 by fastify, whose error the app's handler words.
 */
import type { FastifyInstance } from 'fastify';

export const SQL_CONTENT_TYPE = 'application/sql';

export function acceptJsonAndSqlBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(SQL_CONTENT_TYPE, { parseAs: 'string' }, (request, body, done) => {
    if (request.routeOptions.url !== '/query') {
      const err = Object.assign(new Error(`${SQL_CONTENT_TYPE} bodies go only to POST /query`), {
        statusCode: 415,
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      });
      return done(err, undefined);
    }
    done(null, { query: body });
  });
}
