import { describe, expect, it } from 'vitest';
import { verifySigV4 } from './aws-fake-endpoint.ts';

// AWS's worked example for SigV4 (IAM ListUsers, 2015-08-30), so the fake endpoint's verifier is known to follow
// the published algorithm rather than just agreeing with the SDK.
const example = {
  method: 'GET',
  url: '/?Action=ListUsers&Version=2010-05-08',
  headers: {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host: 'iam.amazonaws.com',
    'x-amz-date': '20150830T123600Z',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, ' +
      'Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
  },
  body: Buffer.alloc(0),
};
const secrets = new Map([['AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY']]);
const scope = { region: 'us-east-1', service: 'iam' };

describe('fake AWS endpoint SigV4 verifier', () => {
  it('accepts the signature of AWS documentation example', () => {
    expect(verifySigV4(example, secrets, scope)).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1', service: 'iam' });
  });

  it('refuses a wrong secret, a changed body, an unknown key and a wrong scope', () => {
    expect(verifySigV4(example, new Map([['AKIDEXAMPLE', 'other']]), scope)).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
    expect(verifySigV4({ ...example, body: Buffer.from('x') }, secrets, scope)).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
    expect(verifySigV4({ ...example, url: '/?Action=ListUsers&Version=2010-05-09' }, secrets, scope)).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
    expect(verifySigV4(example, new Map([['AKIDOTHER', 'x']]), scope)).toMatchObject({ ok: false, status: 400, code: 'UnrecognizedClientException' });
    expect(verifySigV4(example, secrets, { region: 'eu-west-1', service: 'iam' })).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
    expect(verifySigV4({ ...example, headers: { ...example.headers, authorization: 'Bearer x' } }, secrets, scope)).toMatchObject({ ok: false, code: 'IncompleteSignatureException' });
  });
});
