import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsConfigPaths } from '../../src/sinks/aws-config.ts';
import { EVENTBRIDGE_PATHS } from '../../src/sinks/eventbridge.ts';
import { EVENTGRID_PATHS } from '../../src/sinks/eventgrid.ts';
import { PUBSUB_ADC_PATH } from '../../src/sinks/pubsub.ts';
import { SQS_PATHS } from '../../src/sinks/sqs.ts';
import { FIXTURES, generateSample, removeDir } from './support.ts';

/*
 * The generated system.xml against the real admin configuration of mage-os/mageos-async-events-sinks: every section,
 * group and field the AWS, GCP and Azure modules declare is in ours with the same id, tab, ACL resource, field type
 * and backend model, so the values a shop saved there stay where the sidecar reads them; and every path a sink of
 * ours reads is a field of the generated file.
 */

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name, _path, _leaf, isAttribute) => !isAttribute && ['section', 'group', 'field'].includes(name),
});

type Node = Record<string, unknown>;
const list = (value: unknown): Node[] => (Array.isArray(value) ? (value as Node[]) : []);

interface FieldShape {
  readonly type: unknown;
  readonly backendModel: unknown;
  readonly showInDefault: unknown;
}
interface SectionShape {
  readonly tab: unknown;
  readonly resource: unknown;
}

/** path (`section/group/field`) → shape, and section id → its tab and resource. */
function shapeOf(xml: string): { fields: Map<string, FieldShape>; sections: Map<string, SectionShape> } {
  const config = (parser.parse(xml) as Node).config as Node;
  const fields = new Map<string, FieldShape>();
  const sections = new Map<string, SectionShape>();
  for (const section of list((config.system as Node).section)) {
    sections.set(String(section['@id']), { tab: section.tab, resource: section.resource });
    for (const group of list(section.group)) {
      for (const field of list(group.field)) {
        fields.set(`${String(section['@id'])}/${String(group['@id'])}/${String(field['@id'])}`, {
          type: field['@type'],
          backendModel: field.backend_model,
          showInDefault: field['@showInDefault'],
        });
      }
    }
  }
  return { fields, sections };
}

const UPSTREAM_SINKS = path.join(FIXTURES, 'upstream/mageos-async-events-sinks/MageOS');
const ENCRYPTED = 'Magento\\Config\\Model\\Config\\Backend\\Encrypted';

describe('generated etc/adminhtml/system.xml and the upstream sinks modules', () => {
  let outDir: string;
  let ours: ReturnType<typeof shapeOf>;
  beforeAll(async () => {
    outDir = await generateSample();
    ours = shapeOf(await readFile(path.join(outDir, 'etc/adminhtml/system.xml'), 'utf8'));
  });
  afterAll(async () => removeDir(outDir));

  for (const module of ['AsyncEventsAWS', 'AsyncEventsGCP', 'AsyncEventsAzure']) {
    it(`declares every section and field of MageOS_${module} with its type, backend model and ACL resource`, async () => {
      const upstream = shapeOf(await readFile(path.join(UPSTREAM_SINKS, module, 'etc/adminhtml/system.xml'), 'utf8'));
      expect(upstream.fields.size).toBeGreaterThan(0);
      for (const [id, section] of upstream.sections) expect(ours.sections.get(id), id).toEqual(section);
      for (const [fieldPath, field] of upstream.fields) expect(ours.fields.get(fieldPath), fieldPath).toEqual(field);
    });
  }

  it('has a field for every path the cloud sinks read, secrets as obscure fields kept encrypted', () => {
    const paths = [
      ...Object.values(EVENTBRIDGE_PATHS),
      ...Object.values(SQS_PATHS),
      PUBSUB_ADC_PATH,
      ...Object.values(EVENTGRID_PATHS),
    ];
    expect(paths).toEqual(expect.arrayContaining(['async_events_gcp/pubsub/adc_path', 'async_events_azure/service_principal/tenant_id', 'async_events_azure/service_principal/client_id', 'async_events_azure/service_principal/client_secret']));
    for (const configPath of paths) expect(ours.fields.has(configPath), configPath).toBe(true);
    const secrets = [EVENTGRID_PATHS.clientSecret, awsConfigPaths('eventbridge').secretAccessKey, awsConfigPaths('sqs').secretAccessKey];
    for (const secret of secrets) expect(ours.fields.get(secret), secret).toMatchObject({ type: 'obscure', backendModel: ENCRYPTED });
    // Every obscure field is a secret kept encrypted: the cloud sinks' three and the operator alerts' signing secret.
    const obscure = [...ours.fields].filter(([, field]) => field.type === 'obscure').map(([fieldPath]) => fieldPath);
    expect(obscure.sort()).toEqual([...secrets, 'system/async_events/alert_secret'].sort());
    for (const fieldPath of obscure) expect(ours.fields.get(fieldPath), fieldPath).toMatchObject({ backendModel: ENCRYPTED });
  });

  it('keeps the core Async Events group in the system section', () => {
    expect(ours.fields.has('system/async_events/max_deaths')).toBe(true);
    expect(ours.sections.get('system')).toEqual({ tab: undefined, resource: undefined });
  });
});
