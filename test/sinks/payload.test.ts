import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { describeWith } from '../support/services.ts';
import { cloudEventBody, legacyBody, parseCloudEvent } from '../../src/sinks/payload.ts';
import { magentoSignature, signatureHeaders } from '../../src/sinks/signing.ts';
import type { EventPayload } from '../../src/types.ts';

const data = '{"entity_id":12,"url":"https:\\/\\/shop.example\\/x","name":"Caf\\u00e9 \\ud83d\\ude00","items":[],"ext":{}}';
const payload: EventPayload = { uuid: '0b7f6c3e-6d3f-4a51-9d3e-3b6f0a3c2d11', eventName: 'sales.order.created', storeId: 1, data };

describe('bodies', () => {
  it('embeds the Magento bytes unchanged in a CloudEvent', () => {
    const body = cloudEventBody(payload);
    expect(body).toBe(
      '{"specversion":"1.0","id":"0b7f6c3e-6d3f-4a51-9d3e-3b6f0a3c2d11","source":"1","type":"sales.order.created","datacontenttype":"application\\/json","data":' + data + '}',
    );
    expect(JSON.parse(body)).toMatchObject({ source: '1', data: { url: 'https://shop.example/x', name: 'Café 😀' } });
  });
  it('escapes envelope strings as PHP does', () => {
    expect(cloudEventBody({ ...payload, eventName: 'a/b.é', storeId: '2' })).toContain('"source":"2","type":"a\\/b.\\u00e9"');
  });
  it('writes the legacy 3.x body', () => {
    expect(legacyBody(payload)).toBe(`{"data":${data}}`);
  });
  it('reads a CloudEvent back with data as raw text, also with whitespace and escapes in other members', () => {
    expect(parseCloudEvent(cloudEventBody(payload))).toEqual({
      specversion: '1.0', id: payload.uuid, source: '1', type: 'sales.order.created', datacontenttype: 'application/json', data,
    });
    const spaced = '{ "data" : [1, "a\\"]}", {"x": "}"}] , "id":"u", "specversion":"1.0","source":"0","type":"t\\/x" }';
    expect(parseCloudEvent(spaced)).toMatchObject({ data: '[1, "a\\"]}", {"x": "}"}]', type: 't/x', source: '0' });
    expect(parseCloudEvent('{"specversion":"1.0","id":"u","source":"0","type":"t","data":12.50}').data).toBe('12.50');
  });
  it('names what is wrong with bad content', () => {
    expect(() => parseCloudEvent('{"data":1')).toThrow(/not JSON/);
    expect(() => parseCloudEvent('[1]')).toThrow(/must be a JSON object/);
    expect(() => parseCloudEvent('{"specversion":"1.0","source":"0","type":"t","data":1}')).toThrow(/attribute "id"/);
    expect(() => parseCloudEvent('{"specversion":"1.0","id":"u","source":"0","type":"t"}')).toThrow(/no "data" member/);
  });
});

describe('signatures', () => {
  const body = cloudEventBody(payload);
  const token = 'tökén-with-ütf8';
  it('x-magento-signature is the hex HMAC-SHA256 of the body keyed with the token', () => {
    expect(magentoSignature(body, token)).toBe(createHmac('sha256', token).update(body, 'utf8').digest('hex'));
    expect(magentoSignature(body, token)).toMatch(/^[0-9a-f]{64}$/);
  });
  it('Standard Webhooks signature verifies with the standardwebhooks library, both secret forms', () => {
    const headers = signatureHeaders({ id: payload.uuid, body, token });
    expect(headers['webhook-id']).toBe(payload.uuid);
    expect(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    const asWhsec = new Webhook('whsec_' + Buffer.from(token, 'utf8').toString('base64'));
    expect(asWhsec.verify(body, { ...headers })).toMatchObject({ id: payload.uuid });
    const asRaw = new Webhook(Buffer.from(token, 'utf8'), { format: 'raw' });
    expect(asRaw.verify(body, { ...headers })).toMatchObject({ type: 'sales.order.created' });
    expect(() => new Webhook('whsec_' + Buffer.from('other').toString('base64')).verify(body, { ...headers })).toThrow();
  });
  it('co-signs with old tokens during a grace period', () => {
    const headers = signatureHeaders({ id: 'id-1', body, token: 'new-token', previousTokens: ['old-token', 'new-token'] });
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const secret of ['new-token', 'old-token']) {
      expect(() => new Webhook(Buffer.from(secret), { format: 'raw' }).verify(body, { ...headers })).not.toThrow();
    }
    expect(headers['x-magento-signature']).toBe(magentoSignature(body, 'new-token'));
    expect(headers['x-magento-signature-previous']).toBe(magentoSignature(body, 'old-token'));
    const twice = signatureHeaders({ id: 'id-1', body, token: 'new-token', previousTokens: ['older-token', 'oldest-token'] });
    expect(twice['x-magento-signature-previous']).toBe(`${magentoSignature(body, 'older-token')}, ${magentoSignature(body, 'oldest-token')}`);
    expect(twice['webhook-signature'].split(' ')).toHaveLength(3);
    expect('x-magento-signature-previous' in signatureHeaders({ id: 'id-1', body, token: 'new-token' })).toBe(false);
  });
});

describeWith(['php'], 'bodies and signatures against real PHP', () => {
  it('equals what upstream 4.x (json_encode of the normalized CloudEvent) and 3.x write, and PHP hash_hmac signs the same', () => {
    // Data whose json_decode/json_encode round trip is exact in PHP (no `{}`, no `1.0`).
    const roundTrip: EventPayload = { ...payload, storeId: 2, eventName: 'customer/saved', data: '{"entity_id":12,"url":"https:\\/\\/shop.example\\/x","name":"Caf\\u00e9 \\ud83d\\ude00","items":[],"price":12.5}' };
    const script = [
      '$in = json_decode(stream_get_contents(STDIN), true);',
      '$data = json_decode($in["data"], true);',
      '$ce = ["specversion" => "1.0", "id" => $in["uuid"], "source" => (string)$in["storeId"], "type" => $in["eventName"], "datacontenttype" => "application/json", "data" => $data];',
      'echo json_encode($ce), "\\n", json_encode(["data" => $data]), "\\n", hash_hmac("sha256", json_encode($ce), $in["token"]), "\\n";',
    ].join('\n');
    const token = 'tök-en/1';
    const [cloudEvent, legacy, signature] = execFileSync('php', ['-r', script], { input: JSON.stringify({ ...roundTrip, token }), encoding: 'utf8' }).split('\n');
    expect(cloudEventBody(roundTrip)).toBe(cloudEvent);
    expect(legacyBody(roundTrip)).toBe(legacy);
    expect(magentoSignature(cloudEventBody(roundTrip), token)).toBe(signature);
  });
});
