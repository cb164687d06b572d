/**
 * `GET /calls/{id}/recording`: a call's stereo WAV (caller left, agent right), with the API key. While the call
 * runs, what has been written so far (a valid WAV; the header counts it). 404 when the call has no recording
 * (not recorded, recording off, `privacy.storeContent` false, or deleted by retention).
 */
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from '../api-error.ts';
import { apiKeyCheck } from '../auth.ts';
import { apiErrorHandler } from '../error-handler.ts';
import type { HttpApp } from '../http-server.ts';
import type { Logger } from '../../core/logger.ts';

/** A call's recording as the store found it. */
export interface RecordingFile {
  readonly dataBytes: number;
  readonly durationMs: number;
  readonly sampleRate: number;
  readonly channels: number;
  readonly active: boolean;
}

/** Where recordings are read from (the recording store implements it). */
export interface RecordingsPort<F extends RecordingFile = RecordingFile> {
  find(callId: string): Promise<F | undefined>;
  read(file: F): Readable;
}

const MAX_ID = 512;

export async function registerRecordingRoutes<F extends RecordingFile>(
  app: HttpApp,
  o: { apiKeys: readonly string[]; recordings: RecordingsPort<F> | undefined; logger: Logger },
): Promise<void> {
  await app.register(async (scope) => {
    scope.setErrorHandler(apiErrorHandler(o.logger.child({ component: 'api' })));
    scope.addHook('onRequest', apiKeyCheck(o.apiKeys, () => false));
    scope.get('/calls/:id/recording', async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
      const id = request.params.id;
      if (id.length > MAX_ID || o.recordings === undefined) throw notFound('recording of call', id);
      const file = await o.recordings.find(id);
      if (file === undefined) throw notFound('recording of call', id);
      return reply
        .header('content-type', 'audio/wav')
        .header('content-length', String(44 + file.dataBytes))
        .header('cache-control', 'no-store')
        .header('x-callroom-recording-duration-ms', String(file.durationMs))
        .header('x-callroom-recording-complete', file.active ? 'false' : 'true')
        .send(o.recordings.read(file));
    });
  });
}
