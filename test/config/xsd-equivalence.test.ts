import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASYNC_EVENTS_XSD_PATH, validateAsyncEventsXml, validatesAgainst } from '../../src/config/xsd.ts';
import { FIXTURES } from './magento-fixture.ts';

/*
 * Our schemas/async_events.xsd must accept and reject exactly what upstream's etc/async_events.xsd does. Both
 * schemas judge the same generated documents through libxml2 (xmllint-wasm); each document also carries the
 * verdict we expect, so a schema that rejects everything cannot pass.
 */

const UPSTREAM_XSD = path.join(FIXTURES, 'upstream/mageos-async-events/etc/async_events.xsd');
const ALIGENT_XSD = path.join(FIXTURES, 'upstream/magento-async-events/etc/async_events.xsd');

const XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"';
const ev = (name: string, inner = '<service class="Vendor\\Api\\Thing" method="get"/>'): string => `<async_event name="${name}">${inner}</async_event>`;
const doc = (body: string, root = `<config ${XSI} xsi:noNamespaceSchemaLocation="urn:magento:module:MageOS_AsyncEvents:etc/async_events.xsd">`): string =>
  `<?xml version="1.0"?>\n${root}\n${body}\n</config>\n`;
const svc = '<service class="A\\B" method="get"/>';

const CASES: readonly { name: string; valid: boolean; xml: string }[] = [
  { name: 'empty config', valid: true, xml: '<config/>' },
  { name: 'one event', valid: true, xml: doc(ev('sales.order.created')) },
  { name: 'many events', valid: true, xml: doc(['a', 'b', 'c', 'd', 'e'].map((n) => ev(`x.${n}`)).join('\n')) },
  { name: 'resources with one resource', valid: true, xml: doc(ev('a', `${svc}<resources><resource>Magento_Sales::actions_view</resource></resources>`)) },
  { name: 'resources with many', valid: true, xml: doc(ev('a', `${svc}<resources><resource>A::a</resource><resource>B::b</resource><resource>C::c</resource></resources>`)) },
  { name: 'empty resource element', valid: true, xml: doc(ev('a', `${svc}<resources><resource/></resources>`)) },
  { name: 'comments and whitespace everywhere', valid: true, xml: doc(`<!-- c -->\n  <async_event name="a">\n  <!-- in -->\n  ${svc}\n  <!-- x -->\n  </async_event>  <!-- end -->`) },
  { name: 'Aligent URN', valid: true, xml: doc(ev('a'), `<config ${XSI} xsi:noNamespaceSchemaLocation="urn:magento:module:Aligent_AsyncEvents:etc/async_events.xsd">`) },
  { name: 'no schema location at all', valid: true, xml: doc(ev('a'), '<config>') },
  { name: 'every allowed name character', valid: true, xml: doc(ev('AZaz09._-')) },
  { name: 'names differing only in case', valid: true, xml: doc(ev('sales.order') + ev('Sales.Order')) },
  { name: 'CDATA resource', valid: true, xml: doc(ev('a', `${svc}<resources><resource><![CDATA[A::b]]></resource></resources>`)) },
  { name: 'empty class and method strings', valid: true, xml: doc(ev('a', '<service class="" method=""/>')) },
  { name: 'processing instruction inside', valid: true, xml: doc(`<?php-ignored x?>${ev('a')}`) },
  { name: 'doctype without declarations', valid: true, xml: `<?xml version="1.0"?>\n<!DOCTYPE config>\n<config>${ev('a')}</config>` },
  { name: 'entity in class', valid: true, xml: doc(ev('a', '<service class="A&amp;B" method="get"/>')) },
  { name: 'service with whitespace inside (an empty content type allows none)', valid: false, xml: doc(ev('a', '<service class="A" method="b">  \n  </service>')) },
  { name: 'resource with spaces', valid: true, xml: doc(ev('a', `${svc}<resources><resource>  A::b  </resource></resources>`)) },
  { name: 'duplicate names', valid: false, xml: doc(ev('customer.created') + ev('customer.created')) },
  { name: 'duplicate names far apart', valid: false, xml: doc(ev('a') + ev('b') + ev('c') + ev('a')) },
  { name: 'space in name', valid: false, xml: doc(ev('sales order')) },
  { name: 'slash in name', valid: false, xml: doc(ev('sales/order')) },
  { name: 'colon in name', valid: false, xml: doc(ev('sales:order')) },
  { name: 'non-ASCII letter in name', valid: false, xml: doc(ev('commande.créée')) },
  { name: 'leading space in name', valid: false, xml: doc(ev(' sales.order')) },
  { name: 'empty name', valid: false, xml: doc(ev('')) },
  { name: 'missing name', valid: false, xml: doc(`<async_event>${svc}</async_event>`) },
  { name: 'missing service', valid: false, xml: doc('<async_event name="a"></async_event>') },
  { name: 'only resources', valid: false, xml: doc('<async_event name="a"><resources><resource>A::b</resource></resources></async_event>') },
  { name: 'two services', valid: false, xml: doc(ev('a', svc + svc)) },
  { name: 'missing class', valid: false, xml: doc(ev('a', '<service method="get"/>')) },
  { name: 'missing method', valid: false, xml: doc(ev('a', '<service class="A"/>')) },
  { name: 'extra attribute on service', valid: false, xml: doc(ev('a', '<service class="A" method="b" shared="false"/>')) },
  { name: 'extra attribute on async_event', valid: false, xml: doc('<async_event name="a" disabled="true"><service class="A" method="b"/></async_event>') },
  { name: 'extra attribute on config', valid: false, xml: doc(ev('a'), '<config version="2">') },
  { name: 'extra element inside async_event', valid: false, xml: doc(ev('a', `${svc}<bogus/>`)) },
  { name: 'extra element in config', valid: false, xml: doc(`${ev('a')}<observer name="x"/>`) },
  { name: 'wrong root', valid: false, xml: `<?xml version="1.0"?>\n<events>${ev('a')}</events>` },
  { name: 'empty resources', valid: false, xml: doc(ev('a', `${svc}<resources/>`)) },
  { name: 'resources with text', valid: false, xml: doc(ev('a', `${svc}<resources>Magento_Sales::sales</resources>`)) },
  { name: 'resources before service', valid: false, xml: doc(ev('a', `<resources><resource>A::b</resource></resources>${svc}`)) },
  { name: 'two resources elements', valid: false, xml: doc(ev('a', `${svc}<resources><resource>A</resource></resources><resources><resource>B</resource></resources>`)) },
  { name: 'resource with a child element', valid: false, xml: doc(ev('a', `${svc}<resources><resource><ref>A</ref></resource></resources>`)) },
  { name: 'resource outside resources', valid: false, xml: doc(ev('a', `${svc}<resource>A::b</resource>`)) },
  { name: 'service with text', valid: false, xml: doc(ev('a', '<service class="A" method="b">text</service>')) },
  { name: 'service with child', valid: false, xml: doc(ev('a', '<service class="A" method="b"><argument/></service>')) },
  { name: 'async_event with text', valid: false, xml: doc(ev('a', `hello${svc}`)) },
  { name: 'config with text', valid: false, xml: doc(`${ev('a')} stray text`) },
  { name: 'namespaced root', valid: false, xml: `<?xml version="1.0"?>\n<config xmlns="urn:magento:module:MageOS_AsyncEvents">${ev('a')}</config>` },
  { name: 'namespaced async_event', valid: false, xml: doc(`<x:async_event xmlns:x="urn:x" name="a">${svc}</x:async_event>`) },
  { name: 'malformed: unclosed service', valid: false, xml: doc('<async_event name="a"><service class="A" method="b"></async_event>') },
  { name: 'malformed: mismatched end tag', valid: false, xml: doc(`<async_event name="a">${svc}</async_events>`) },
  { name: 'malformed: unquoted attribute', valid: false, xml: doc(`<async_event name=a>${svc}</async_event>`) },
  { name: 'malformed: undeclared entity', valid: false, xml: doc(ev('a', '<service class="A&nbsp;B" method="b"/>')) },
  { name: 'malformed: two roots', valid: false, xml: '<config/><config/>' },
  { name: 'malformed: empty document', valid: false, xml: '' },
  { name: 'malformed: only a declaration', valid: false, xml: '<?xml version="1.0"?>\n' },
];

describe('schemas/async_events.xsd is equivalent to upstream', () => {
  const ours = readFileSync(ASYNC_EVENTS_XSD_PATH, 'utf8');
  const upstream = readFileSync(UPSTREAM_XSD, 'utf8');

  it('is our own file, not a copy', () => {
    expect(ours).not.toBe(upstream);
    expect(ours).not.toContain('asyncEventDeclaration');
  });

  it(`gives upstream's verdict on ${CASES.length} generated documents`, async () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    const documents = CASES.map((entry) => entry.xml);
    const [ourVerdicts, upstreamVerdicts, aligentVerdicts] = await Promise.all([
      validatesAgainst(ours, documents),
      validatesAgainst(upstream, documents),
      validatesAgainst(readFileSync(ALIGENT_XSD, 'utf8'), documents),
    ]);
    const table = (verdicts: boolean[]): Record<string, boolean> => Object.fromEntries(CASES.map((entry, index) => [entry.name, verdicts[index] === true]));
    expect(table(ourVerdicts)).toEqual(table(upstreamVerdicts));
    expect(table(aligentVerdicts)).toEqual(table(upstreamVerdicts));
    expect(table(upstreamVerdicts)).toEqual(Object.fromEntries(CASES.map((entry) => [entry.name, entry.valid])));
  });

  it('validateAsyncEventsXml agrees and explains every rejection with a line', async () => {
    const verdicts = await validateAsyncEventsXml(CASES.map((entry, index) => ({ file: `case${index}.xml`, text: entry.xml })));
    CASES.forEach((entry, index) => {
      const verdict = verdicts[index];
      expect({ name: entry.name, valid: verdict?.valid }).toEqual({ name: entry.name, valid: entry.valid });
      if (!entry.valid) {
        expect(verdict?.errors.length, entry.name).toBeGreaterThan(0);
        for (const error of verdict?.errors ?? []) {
          expect(error.file).toBe(`case${index}.xml`);
          expect(error.line).toBeGreaterThanOrEqual(1);
          expect(error.message).not.toMatch(/Schemas validity error|parser error :|precomputed/);
        }
      }
    });
  });
});

function findAsyncEventsXml(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) return findAsyncEventsXml(full);
    return entry === 'async_events.xml' ? [full] : [];
  });
}

describe('upstream async_events.xml files', () => {
  const files = findAsyncEventsXml(path.join(FIXTURES, 'upstream'));

  it('are found', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  it('all validate with our XSD', async () => {
    const verdicts = await validateAsyncEventsXml(files.map((file) => ({ file: path.relative(FIXTURES, file), text: readFileSync(file, 'utf8') })));
    expect(verdicts.filter((verdict) => !verdict.valid)).toEqual([]);
    expect(verdicts).toHaveLength(files.length);
  });
});
