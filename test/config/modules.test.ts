import { afterEach, describe, expect, it } from 'vitest';
import { readMagentoInstall } from '../../src/config/magento-root.ts';
import { discoverModules, sortBySequence } from '../../src/config/modules.ts';
import { EXAMPLE_ROOT, makeTempRoot, type TempRoot } from './magento-fixture.ts';

const names = (modules: readonly { name: string }[]): string[] => modules.map((module) => module.name);

describe('sortBySequence', () => {
  it('keeps the given order when it already respects every sequence', () => {
    const modules = [
      { name: 'A_Base', sequence: [] },
      { name: 'B_Mid', sequence: ['A_Base'] },
      { name: 'C_Top', sequence: ['B_Mid'] },
      { name: 'D_Free', sequence: [] },
    ];
    expect(names(sortBySequence(modules))).toEqual(['A_Base', 'B_Mid', 'C_Top', 'D_Free']);
  });

  it('moves a module after everything in its (transitive) sequence', () => {
    const modules = [
      { name: 'C_Top', sequence: ['B_Mid'] },
      { name: 'X_Other', sequence: [] },
      { name: 'B_Mid', sequence: ['A_Base'] },
      { name: 'A_Base', sequence: [] },
    ];
    const sorted = names(sortBySequence(modules));
    expect(sorted.indexOf('A_Base')).toBeLessThan(sorted.indexOf('B_Mid'));
    expect(sorted.indexOf('B_Mid')).toBeLessThan(sorted.indexOf('C_Top'));
    expect(sorted).toHaveLength(4);
  });

  it("throws Magento's circular sequence error", () => {
    const modules = [
      { name: 'A_One', sequence: ['B_Two'] },
      { name: 'B_Two', sequence: ['C_Three'] },
      { name: 'C_Three', sequence: ['A_One'] },
    ];
    expect(() => sortBySequence(modules)).toThrow(/Circular sequence reference from '.+' to '.+'\./);
  });
});

describe('discoverModules', () => {
  let temp: TempRoot | undefined;
  afterEach(async () => {
    await temp?.remove();
    temp = undefined;
  });

  it('finds the example modules in app/code and vendor, leaving the disabled one out', async () => {
    const discovery = await discoverModules(await readMagentoInstall(EXAMPLE_ROOT));
    expect(names(discovery.modules)).toEqual(['Magento_Store', 'Magento_Customer', 'Magento_Catalog', 'Magento_Sales', 'Acme_CustomerEvents', 'Acme_OrderEvents']);
    expect(discovery.modules.find((module) => module.name === 'Acme_CustomerEvents')?.relativeDir).toBe('vendor/acme/module-customer-events');
    expect(discovery.modules.find((module) => module.name === 'Magento_Sales')?.sequence).toEqual(['Magento_Store', 'Magento_Catalog', 'Magento_Customer']);
    expect(discovery.missing).toEqual([]);
    expect(discovery.errors).toEqual([]);
  });

  it('orders by sequence when config.php disagrees, and ignores disabled and unlisted modules', async () => {
    temp = await makeTempRoot();
    await temp.module('Acme_Late', { sequence: ['Acme_Early'] });
    await temp.module('Acme_Early');
    await temp.module('Acme_Off');
    await temp.module('Acme_Unlisted');
    await temp.module('Acme_Vendor', { vendorPackage: 'acme/module-vendor', sequence: ['Acme_Late'] });
    await temp.config({ Acme_Vendor: 1, Acme_Late: 1, Acme_Off: 0, Acme_Early: 1, Acme_Gone: 1 });
    const discovery = await discoverModules(await readMagentoInstall(temp.root));
    expect(names(discovery.modules)).toEqual(['Acme_Early', 'Acme_Late', 'Acme_Vendor']);
    expect(discovery.missing).toEqual(['Acme_Gone']);
    expect(discovery.errors).toEqual([]);
  });

  it('needs registration.php in app/code and type magento2-module in vendor', async () => {
    temp = await makeTempRoot();
    await temp.module('Acme_NoReg');
    await temp.write('app/code/Acme/NoReg/registration.php', '');
    await temp.write('app/code/Acme/Bare/etc/module.xml', '<config><module name="Acme_Bare"/></config>');
    await temp.write('vendor/acme/lib/composer.json', JSON.stringify({ type: 'library' }));
    await temp.write('vendor/acme/lib/etc/module.xml', '<config><module name="Acme_Lib"/></config>');
    await temp.config({ Acme_NoReg: 1, Acme_Bare: 1, Acme_Lib: 1 });
    const discovery = await discoverModules(await readMagentoInstall(temp.root));
    expect(names(discovery.modules)).toEqual(['Acme_NoReg']);
    expect(discovery.missing).toEqual(['Acme_Bare', 'Acme_Lib']);
  });

  it('reports a circular sequence in module.xml with file and line, keeping config.php order', async () => {
    temp = await makeTempRoot();
    await temp.module('Acme_One', { sequence: ['Acme_Two'] });
    await temp.module('Acme_Two', { sequence: ['Acme_One'] });
    await temp.config({ Acme_One: 1, Acme_Two: 1 });
    const discovery = await discoverModules(await readMagentoInstall(temp.root));
    expect(names(discovery.modules)).toEqual(['Acme_One', 'Acme_Two']);
    expect(discovery.errors).toHaveLength(1);
    expect(discovery.errors[0]).toMatchObject({ line: 4 }); // the <sequence> line naming the other module
    expect(discovery.errors[0]?.file).toMatch(/^app\/code\/Acme\/(One|Two)\/etc\/module\.xml$/);
    expect(discovery.errors[0]?.message).toMatch(/Circular sequence reference from 'Acme_(One|Two)' to 'Acme_(One|Two)'/);
  });

  it('reports malformed module.xml and duplicate modules', async () => {
    temp = await makeTempRoot();
    await temp.module('Acme_Broken');
    await temp.write('app/code/Acme/Broken/etc/module.xml', '<config>\n  <module name="Acme_Broken">\n</config>\n');
    await temp.module('Acme_Twice');
    await temp.module('Acme_Twice', { vendorPackage: 'acme/module-twice' });
    await temp.config({ Acme_Broken: 1, Acme_Twice: 1 });
    const discovery = await discoverModules(await readMagentoInstall(temp.root));
    expect(discovery.errors).toEqual([
      expect.objectContaining({ file: 'app/code/Acme/Broken/etc/module.xml', line: 3, message: expect.stringMatching(/^malformed XML/) }),
      expect.objectContaining({ file: 'vendor/acme/module-twice/etc/module.xml', message: expect.stringContaining('already defined in app/code/Acme/Twice') }),
    ]);
  });
});
