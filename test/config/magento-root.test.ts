import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readMagentoInstall } from '../../src/config/magento-root.ts';
import { isAsyncEventsError } from '../../src/errors.ts';
import { EXAMPLE_ROOT, makeTempRoot, type TempRoot } from './magento-fixture.ts';

const ENV_PHP = `<?php
return [
    'db' => [
        'table_prefix' => 'mg_',
        'connection' => [
            'default' => ['host' => 'db:3307', 'dbname' => 'magento', 'username' => 'mage', 'password' => 'secret', 'active' => '1'],
            'indexer' => ['host' => 'other'],
        ],
    ],
    'crypt' => ['key' => "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\n  bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb \\n"],
    'queue' => ['amqp' => ['host' => 'rabbit', 'port' => '5672', 'user' => 'u', 'password' => 'p', 'virtualhost' => '/']],
    'system' => [
        'default' => [
            'system' => ['async_events' => ['max_deaths' => 3, 'indexing_enabled' => false]],
            'web' => ['secure' => ['base_url' => 'https://shop.example/']],
        ],
        'stores' => ['default' => ['web' => ['secure' => ['base_url' => 'https://ignored.example/']]]],
    ],
];
`;

describe('readMagentoInstall', () => {
  let temp: TempRoot | undefined;
  afterEach(async () => {
    await temp?.remove();
    temp = undefined;
  });

  it('reads the example root: modules in config.php order, no env.php', async () => {
    const install = await readMagentoInstall(EXAMPLE_ROOT);
    expect(install.root).toBe(EXAMPLE_ROOT);
    expect([...install.modules]).toEqual([
      ['Magento_Store', true],
      ['Magento_Customer', true],
      ['Magento_Catalog', true],
      ['Magento_Sales', true],
      ['Acme_CustomerEvents', true],
      ['Acme_OrderEvents', true],
      ['Acme_Legacy', false],
    ]);
    expect(install.env).toBeUndefined();
    expect(install.tablePrefix).toBe('');
    expect(install.cryptKeys).toEqual([]);
    expect(install.dbConnection).toBeUndefined();
    expect(install.amqp).toBeUndefined();
    expect(install.systemOverrides).toEqual({ 'general/locale/code': 'en_US', 'general/locale/timezone': 'UTC' });
  });

  it('reads env.php: prefix, crypt keys newest last, db, amqp, system overrides with env.php winning', async () => {
    temp = await makeTempRoot();
    await temp.config({ Magento_Store: 1 }, "    'system' => ['default' => ['system' => ['async_events' => ['max_deaths' => '9', 'subscriber_log_cron_delete_period' => '7']]]],\n");
    await temp.write('app/etc/env.php', ENV_PHP);
    const install = await readMagentoInstall(temp.root);
    expect(install.tablePrefix).toBe('mg_');
    expect(install.cryptKeys).toEqual(['a'.repeat(32), 'b'.repeat(32)]);
    expect(install.dbConnection).toMatchObject({ host: 'db:3307', dbname: 'magento', username: 'mage' });
    expect(install.amqp).toMatchObject({ host: 'rabbit', virtualhost: '/' });
    expect(install.systemOverrides).toEqual({
      'system/async_events/max_deaths': '3',
      'system/async_events/indexing_enabled': '0',
      'system/async_events/subscriber_log_cron_delete_period': '7',
      'web/secure/base_url': 'https://shop.example/',
    });
  });

  it('says MAGENTO_ROOT_MISSING naming the path when the root or config.php is missing', async () => {
    const missing = path.join(EXAMPLE_ROOT, 'no-such-dir');
    await expect(readMagentoInstall(missing)).rejects.toSatisfy((e: unknown) => isAsyncEventsError(e, 'MAGENTO_ROOT_MISSING') && (e as Error).message.includes(missing));
    temp = await makeTempRoot();
    await expect(readMagentoInstall(temp.root)).rejects.toSatisfy(
      (e: unknown) => isAsyncEventsError(e, 'MAGENTO_ROOT_MISSING') && (e as Error).message.includes(path.join(temp?.root ?? '', 'app/etc/config.php')),
    );
  });

  it('reports an env.php it cannot evaluate with file:line', async () => {
    temp = await makeTempRoot();
    await temp.config({ Magento_Store: 1 });
    await temp.write('app/etc/env.php', "<?php\nreturn [\n  'db' => [\n    'host' => getenv('DB'),\n  ],\n];\n");
    await expect(readMagentoInstall(temp.root)).rejects.toThrow(/^app\/etc\/env\.php:4: a function call/);
  });
});
