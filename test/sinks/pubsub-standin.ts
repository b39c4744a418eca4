import { createRequire } from 'node:module';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createAnswerGate } from './answer-gate.ts';

/*
 * A local stand-in for Google Pub/Sub's Publisher service, built from the protos @google-cloud/pubsub ships (and
 * google-gax's common protos), so the real client talks real gRPC to it. Requests are recorded with their
 * metadata; each Publish gets the next scripted reply (message ids, or a gRPC status).
 */

export interface PublishedMessage {
  readonly data: Buffer;
  readonly attributes: Record<string, string>;
}

export interface ReceivedPublish {
  readonly topic: string;
  readonly messages: PublishedMessage[];
  readonly metadata: Record<string, string>;
}

export type PublishReply = { readonly ok: true } | { readonly code: grpc.status; readonly details: string };

export interface PubSubStandIn {
  /** `host:port`, for PUBSUB_EMULATOR_HOST. */
  readonly host: string;
  readonly received: ReceivedPublish[];
  reply(...replies: PublishReply[]): void;
  /** Holds every Publish until `release()`. */
  hold(): void;
  release(): void;
  reset(): void;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);
const pubsubPackage = require.resolve('@google-cloud/pubsub/package.json');
const pubsubProtos = path.join(path.dirname(pubsubPackage), 'build', 'protos');
// google-gax (a dependency of the client) ships google/api and google/protobuf; its entry is build/src/index.js.
const gaxProtos = path.join(path.dirname(createRequire(pubsubPackage).resolve('google-gax')), '..', 'protos');

interface PublishRequest {
  topic: string;
  messages: { data: Buffer; attributes: Record<string, string> }[];
}

export async function startPubSubStandIn(): Promise<PubSubStandIn> {
  const definition = protoLoader.loadSync('google/pubsub/v1/pubsub.proto', { includeDirs: [pubsubProtos, gaxProtos], keepCase: false, defaults: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { google: { pubsub: { v1: { Publisher: { service: grpc.ServiceDefinition } } } } };
  const received: ReceivedPublish[] = [];
  const replies: PublishReply[] = [];
  const gate = createAnswerGate();
  let nextId = 1;
  const server = new grpc.Server();
  const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in the stand-in' });
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(loaded.google.pubsub.v1.Publisher.service)) handlers[name] = unimplemented;
  handlers.Publish = (call: grpc.ServerUnaryCall<PublishRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(call.metadata.getMap())) metadata[key] = String(value);
    received.push({ topic: call.request.topic, messages: call.request.messages.map((m) => ({ data: Buffer.from(m.data), attributes: { ...m.attributes } })), metadata });
    const answer = () => {
      const reply = replies.shift() ?? { code: grpc.status.INTERNAL, details: 'the test scripted no reply for this request' };
      if ('ok' in reply) callback(null, { messageIds: call.request.messages.map(() => `msg-${nextId++}`) });
      else callback({ code: reply.code, details: reply.details });
    };
    gate.answer(answer);
  };
  server.addService(loaded.google.pubsub.v1.Publisher.service, handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return {
    host: `127.0.0.1:${port}`,
    received,
    reply: (...more) => replies.push(...more),
    hold: gate.hold,
    release: gate.release,
    reset: () => {
      nextId = 1;
      received.length = 0;
      replies.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
