import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateXML, type XMLFileInfo } from 'xmllint-wasm';
import { FIXTURES, generateSample, removeDir } from './support.ts';

/*
 * Generated XML against Magento's own XSDs, read in place from the fixtures (2.4.6-p1). Fixtures hold the XSDs of
 * communication.xml, queue_publisher.xml, queue_topology.xml and webapi.xml (whose webapi.xsd xs:redefines
 * webapi_base.xsd, passed under the URN it names). There is no XSD in the fixtures for module.xml, di.xml,
 * acl.xml, config.xml, system.xml, menu.xml, routes.xml or db_schema.xml: those are checked for well-formedness
 * and for the schema URN Magento resolves them with.
 */

const MAGENTO = path.join(FIXTURES, 'magento');
const XSD = {
  communication: path.join(MAGENTO, 'lib/internal/Magento/Framework/Communication/etc/communication.xsd'),
  publisher: path.join(MAGENTO, 'lib/internal/Magento/Framework/MessageQueue/etc/publisher.xsd'),
  topology: path.join(MAGENTO, 'lib/internal/Magento/Framework/MessageQueue/etc/topology.xsd'),
  webapi: path.join(MAGENTO, 'app/code/Magento/Webapi/etc/webapi.xsd'),
  webapiBase: path.join(MAGENTO, 'app/code/Magento/Webapi/etc/webapi_base.xsd'),
};

async function file(fileName: string, filePath: string): Promise<XMLFileInfo> {
  return { fileName, contents: await readFile(filePath, 'utf8') };
}

async function validate(xml: XMLFileInfo, schema: XMLFileInfo, preload: XMLFileInfo[] = []) {
  return validateXML({ xml: [xml], schema: [schema], preload });
}

describe('generated XML against Magento XSDs', () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = await generateSample('https://console.example.com/?a=1&b=2');
  });
  afterAll(async () => removeDir(outDir));

  const cases: Array<[string, keyof typeof XSD, Array<[string, keyof typeof XSD]>]> = [
    ['etc/communication.xml', 'communication', []],
    ['etc/queue_publisher.xml', 'publisher', []],
    ['etc/queue_topology.xml', 'topology', []],
    ['etc/webapi.xml', 'webapi', [['urn:magento:module:Magento_Webapi:etc/webapi_base.xsd', 'webapiBase']]],
  ];

  for (const [generated, schema, includes] of cases) {
    it(`${generated} validates against ${path.basename(XSD[schema])}`, async () => {
      const preload = await Promise.all(includes.map(([name, key]) => file(name, XSD[key])));
      const result = await validate(await file(generated, path.join(outDir, generated)), await file(path.basename(XSD[schema]), XSD[schema]), preload);
      expect(result.errors).toEqual([]);
      expect(result.valid).toBe(true);
    });
  }

  it('the same XSDs reject a broken file (the check can fail)', async () => {
    const topology = (await readFile(path.join(outDir, 'etc/queue_topology.xml'), 'utf8')).replace('name="magento" type="topic"', 'name="magento" type="fanout"');
    const result = await validate({ fileName: 'queue_topology.xml', contents: topology }, await file('topology.xsd', XSD.topology));
    expect(result.valid).toBe(false);
    expect(result.errors[0]?.message).toContain('fanout');
    const webapi = (await readFile(path.join(outDir, 'etc/webapi.xml'), 'utf8')).replace('method="GET"', 'method="PATCH"');
    const webapiResult = await validate({ fileName: 'webapi.xml', contents: webapi }, await file('webapi.xsd', XSD.webapi), [await file('urn:magento:module:Magento_Webapi:etc/webapi_base.xsd', XSD.webapiBase)]);
    expect(webapiResult.valid).toBe(false);
  });

  const withoutXsd: Array<[string, string]> = [
    ['etc/module.xml', 'urn:magento:framework:Module/etc/module.xsd'],
    ['etc/di.xml', 'urn:magento:framework:ObjectManager/etc/config.xsd'],
    ['etc/acl.xml', 'urn:magento:framework:Acl/etc/acl.xsd'],
    ['etc/config.xml', 'urn:magento:module:Magento_Store:etc/config.xsd'],
    ['etc/adminhtml/system.xml', 'urn:magento:module:Magento_Config:etc/system_file.xsd'],
    ['etc/adminhtml/menu.xml', 'urn:magento:module:Magento_Backend:etc/menu.xsd'],
    ['etc/adminhtml/routes.xml', 'urn:magento:framework:App/etc/routes.xsd'],
    ['etc/db_schema.xml', 'urn:magento:framework:Setup/Declaration/Schema/etc/schema.xsd'],
  ];

  for (const [generated, urn] of withoutXsd) {
    it(`${generated} is well-formed and names ${urn} (no XSD in fixtures)`, async () => {
      const contents = await readFile(path.join(outDir, generated), 'utf8');
      const result = await validateXML({ xml: [{ fileName: path.basename(generated), contents }], normalization: 'format' });
      expect(result.errors).toEqual([]);
      expect(result.valid).toBe(true);
      expect(contents).toContain(`xsi:noNamespaceSchemaLocation="${urn}"`);
    });
  }

  it('the well-formedness check can fail', async () => {
    const result = await validateXML({ xml: [{ fileName: 'broken.xml', contents: '<config><module></config>' }], normalization: 'format' });
    expect(result.valid).toBe(false);
  });
});

describe('generated etc/async_events.xsd', () => {
  let outDir: string;
  beforeAll(async () => {
    outDir = await generateSample();
  });
  afterAll(async () => removeDir(outDir));

  it('accepts every upstream async_events.xml in the fixtures', async () => {
    const schema = await file('async_events.xsd', path.join(outDir, 'etc/async_events.xsd'));
    const modules = (await readdir(path.join(FIXTURES, 'upstream'))).sort();
    const checked: string[] = [];
    for (const module of modules) {
      const candidate = path.join(FIXTURES, 'upstream', module, 'etc/async_events.xml');
      const contents = await readFile(candidate, 'utf8').catch(() => undefined);
      if (contents === undefined) continue;
      const result = await validate({ fileName: `${module}/async_events.xml`, contents }, schema);
      expect(result.errors, module).toEqual([]);
      checked.push(module);
    }
    expect(checked.length).toBeGreaterThanOrEqual(4);
  });

  it('rejects a duplicate event name and a bad name', async () => {
    const schema = await file('async_events.xsd', path.join(outDir, 'etc/async_events.xsd'));
    const xml = `<?xml version="1.0"?>
<config xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="urn:magento:module:MageOS_AsyncEvents:etc/async_events.xsd">
    <async_event name="a.b"><service class="A\\B" method="c"/></async_event>
    <async_event name="a.b"><service class="A\\B" method="d"/></async_event>
    <async_event name="a b"><service class="A\\B" method="d"/></async_event>
</config>`;
    const result = await validate({ fileName: 'async_events.xml', contents: xml }, schema);
    expect(result.valid).toBe(false);
    expect(result.errors.map((error) => error.loc?.lineNumber)).toEqual(expect.arrayContaining([4, 5]));
  });
});
