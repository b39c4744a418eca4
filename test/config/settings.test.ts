import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeSettings, loadSettings, parseDotEnv } from '../../src/config/settings.ts';
import { isAsyncEventsError } from '../../src/errors.ts';
import { EXAMPLE_ROOT, makeTempRoot, type TempRoot } from './magento-fixture.ts';

const ENV_PHP = `<?php
return [
    'db' => [
        'table_prefix' => 'm2_',
        'connection' => ['default' => ['host' => 'dbhost:3307', 'dbname' => 'shop', 'username' => 'mage', 'password' => 'p@ss:w/rd']],
    ],
    'crypt' => ['key' => "11111111111111111111111111111111\\n22222222222222222222222222222222"],
    'queue' => ['amqp' => ['host' => 'rabbit', 'port' => '5673', 'user' => 'mq', 'password' => 's3cret', 'virtualhost' => '/shop']],
    'system' => ['default' => ['web' => ['unsecure' => ['base_url' => 'http://shop.test/'], 'secure' => ['base_url' => 'https://shop.test/']]]],
];
`;

describe('loadSettings', () => {
  let temp: TempRoot | undefined;
  afterEach(async () => {
    await temp?.remove();
    temp = undefined;
  });

  it('uses defaults with the example root and no env.php', async () => {
    temp = await makeTempRoot(); // an empty cwd: no .env, no examples/ of its own
    const settings = await loadSettings({ env: {}, cwd: temp.root });
    expect(settings.magentoRoot).toBe(EXAMPLE_ROOT);
    expect(settings.database).toEqual({ kind: 'sqlite', path: path.join(temp.root, 'var/async-events.sqlite') });
    expect(settings.dataDir).toBe(path.join(temp.root, 'var'));
    expect(settings).toMatchObject({
      magentoUrl: undefined,
      magentoToken: undefined,
      tablePrefix: '',
      amqpUrl: undefined,
      elasticsearchUrl: undefined,
      port: 8080,
      apiToken: undefined,
      allowedTargets: [],
      payloadFormat: 'cloudevents',
      cryptKeys: undefined,
      http: { connectTimeoutMs: 5000, totalTimeoutMs: 15000 },
      shutdownTimeoutMs: 25000,
    });
    expect(settings.systemOverrides).toEqual({ 'general/locale/code': 'en_US', 'general/locale/timezone': 'UTC' });
    expect(settings.origins).toMatchObject({ magentoRoot: 'default', database: 'default', port: 'default', amqpUrl: 'default' });
  });

  it('takes database, queue, prefix, keys and base URL from env.php', async () => {
    temp = await makeTempRoot();
    await temp.config({ Magento_Store: 1 });
    await temp.write('app/etc/env.php', ENV_PHP);
    const settings = await loadSettings({ env: { ASYNC_EVENTS_MAGENTO_ROOT: temp.root }, cwd: temp.root });
    expect(settings.database).toEqual({ kind: 'mysql', host: 'dbhost', port: 3307, user: 'mage', password: 'p@ss:w/rd', database: 'shop' });
    expect(settings.amqpUrl).toBe('amqp://mq:s3cret@rabbit:5673/%2Fshop');
    expect(settings.tablePrefix).toBe('m2_');
    expect(settings.cryptKeys).toEqual(['1'.repeat(32), '2'.repeat(32)]);
    expect(settings.magentoUrl).toBe('https://shop.test');
    expect(settings.origins).toMatchObject({ magentoRoot: 'env', database: 'env.php', amqpUrl: 'env.php', magentoUrl: 'env.php', tablePrefix: 'env.php', cryptKeys: 'env.php' });
  });

  it('reads a socket path as db host, and honours queue default_connection db', async () => {
    temp = await makeTempRoot();
    await temp.config({});
    await temp.write(
      'app/etc/env.php',
      "<?php return ['db' => ['connection' => ['default' => ['host' => '/run/mysqld/mysqld.sock', 'dbname' => 'm', 'username' => 'u', 'password' => '']]], 'queue' => ['amqp' => ['host' => 'rabbit'], 'default_connection' => 'db']];",
    );
    const settings = await loadSettings({ env: { ASYNC_EVENTS_MAGENTO_ROOT: temp.root }, cwd: temp.root });
    expect(settings.database).toEqual({ kind: 'mysql', host: 'localhost', port: 3306, user: 'u', password: '', database: 'm', socketPath: '/run/mysqld/mysqld.sock' });
    expect(settings.amqpUrl).toBeUndefined();
  });

  it('ranks flag > env > .env > env.php > default', async () => {
    temp = await makeTempRoot();
    await temp.config({});
    await temp.write('app/etc/env.php', ENV_PHP);
    await temp.write(
      '.env',
      [
        '# local overrides',
        `ASYNC_EVENTS_MAGENTO_ROOT=${temp.root}`,
        'ASYNC_EVENTS_PORT=9001',
        'export ASYNC_EVENTS_PAYLOAD_FORMAT="legacy"',
        "ASYNC_EVENTS_DB='sqlite:data/from-dotenv.sqlite'",
        'ASYNC_EVENTS_API_TOKEN=dotenv-token # trailing comment',
      ].join('\n'),
    );
    const settings = await loadSettings({
      cwd: temp.root,
      env: { ASYNC_EVENTS_PORT: '9002', ASYNC_EVENTS_DB: 'mysql://envuser:env%20pw@10.0.0.5/envdb', ASYNC_EVENTS_AMQP: '' },
      flags: { port: '9003', payloadFormat: undefined },
    });
    expect(settings.port).toBe(9003);
    expect(settings.origins.port).toBe('flag');
    expect(settings.database).toEqual({ kind: 'mysql', host: '10.0.0.5', port: 3306, user: 'envuser', password: 'env pw', database: 'envdb' });
    expect(settings.origins.database).toBe('env');
    expect(settings.payloadFormat).toBe('legacy');
    expect(settings.origins.payloadFormat).toBe('dotenv');
    expect(settings.apiToken).toBe('dotenv-token');
    expect(settings.magentoRoot).toBe(temp.root);
    expect(settings.origins.magentoRoot).toBe('dotenv');
    expect(settings.amqpUrl).toBeUndefined(); // empty = database queue, even though env.php has AMQP
    expect(settings.origins.amqpUrl).toBe('env');
    expect(settings.tablePrefix).toBe('m2_');

    const withoutEnv = await loadSettings({ cwd: temp.root, env: {}, flags: { 'ASYNC_EVENTS_DB': 'sqlite:x.sqlite' } });
    expect(withoutEnv.port).toBe(9001);
    expect(withoutEnv.database).toEqual({ kind: 'sqlite', path: path.join(temp.root, 'x.sqlite') });
    expect(withoutEnv.amqpUrl).toBe('amqp://mq:s3cret@rabbit:5673/%2Fshop');
  });

  it.each([
    ['ASYNC_EVENTS_PORT', 'eighty'],
    ['ASYNC_EVENTS_PORT', '70000'],
    ['ASYNC_EVENTS_DB', 'postgres://u@h/db'],
    ['ASYNC_EVENTS_DB', 'mysql://u:p@host:3306/'],
    ['ASYNC_EVENTS_DB', 'sqlite:'],
    ['ASYNC_EVENTS_AMQP', 'http://rabbit'],
    ['ASYNC_EVENTS_PAYLOAD_FORMAT', 'xml'],
    ['ASYNC_EVENTS_ALLOWED_TARGETS', '127.0.0.1/33'],
    ['ASYNC_EVENTS_ALLOWED_TARGETS', 'ok.example, bad host'],
    ['ASYNC_EVENTS_MAGENTO_URL', 'shop.example'],
    ['ASYNC_EVENTS_ELASTICSEARCH', 'ftp://es'],
    ['ASYNC_EVENTS_HTTP_TIMEOUT_MS', '-5'],
    ['ASYNC_EVENTS_HTTP_CONNECT_TIMEOUT_MS', '0'],
    ['ASYNC_EVENTS_SHUTDOWN_TIMEOUT_MS', 'soon'],
  ])('refuses %s=%s naming the variable and value', async (variable, value) => {
    temp = await makeTempRoot();
    let caught: unknown;
    try {
      await loadSettings({ cwd: temp.root, env: { [variable]: value } });
    } catch (thrown) {
      caught = thrown;
    }
    expect(isAsyncEventsError(caught, 'SETTING_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(`${variable}=${JSON.stringify(value)}`);
  });

  it('parses allowed targets, URLs and timeouts', async () => {
    temp = await makeTempRoot();
    const settings = await loadSettings({
      cwd: temp.root,
      env: {
        ASYNC_EVENTS_ALLOWED_TARGETS: ' 127.0.0.1/32, ::1/128 ,hooks.internal,10.1.2.3',
        ASYNC_EVENTS_MAGENTO_URL: 'https://shop.example/',
        ASYNC_EVENTS_ELASTICSEARCH: 'http://es:9200',
        ASYNC_EVENTS_HTTP_CONNECT_TIMEOUT_MS: '250',
        ASYNC_EVENTS_HTTP_TIMEOUT_MS: '1000',
        ASYNC_EVENTS_SHUTDOWN_TIMEOUT_MS: '3000',
        ASYNC_EVENTS_DATA_DIR: 'state',
        ASYNC_EVENTS_PAYLOAD_FORMAT: 'CloudEvents',
      },
    });
    expect(settings.allowedTargets).toEqual(['127.0.0.1/32', '::1/128', 'hooks.internal', '10.1.2.3']);
    expect(settings.magentoUrl).toBe('https://shop.example');
    expect(settings.elasticsearchUrl).toBe('http://es:9200');
    expect(settings.http).toEqual({ connectTimeoutMs: 250, totalTimeoutMs: 1000 });
    expect(settings.shutdownTimeoutMs).toBe(3000);
    expect(settings.dataDir).toBe(path.join(temp.root, 'state'));
    expect(settings.database).toEqual({ kind: 'sqlite', path: path.join(temp.root, 'state/async-events.sqlite') });
    expect(settings.payloadFormat).toBe('cloudevents');
  });

  it('rethrows an env.php it cannot read instead of silently using defaults', async () => {
    temp = await makeTempRoot();
    await temp.config({});
    await temp.write('app/etc/env.php', "<?php return ['db' => ['connection' => ['default' => ['host' => getenv('DB')]]]];");
    await expect(loadSettings({ cwd: temp.root, env: { ASYNC_EVENTS_MAGENTO_ROOT: temp.root } })).rejects.toThrow(/app\/etc\/env\.php:1: a function call/);
  });
});

describe('describeSettings', () => {
  it('documents every variable and masks secrets', async () => {
    const temp = await makeTempRoot();
    try {
      await temp.config({});
      await temp.write('app/etc/env.php', ENV_PHP);
      const settings = await loadSettings({
        cwd: temp.root,
        env: { ASYNC_EVENTS_MAGENTO_ROOT: temp.root, ASYNC_EVENTS_API_TOKEN: 'supersecretapitoken', ASYNC_EVENTS_MAGENTO_TOKEN: 'abcdefghijklmnop' },
      });
      const rows = describeSettings(settings);
      const text = JSON.stringify(rows);
      for (const secret of ['p@ss:w/rd', 's3cret', 'supersecretapitoken', 'abcdefghijklmnop', '1'.repeat(32)]) expect(text).not.toContain(secret);
      const byName = Object.fromEntries(rows.map((row) => [row.name, row]));
      expect(byName.ASYNC_EVENTS_DB).toMatchObject({ value: 'mysql://mage:****@dbhost:3307/shop', origin: 'env.php' });
      expect(byName.ASYNC_EVENTS_AMQP).toMatchObject({ value: 'amqp://mq:****@rabbit:5673/%2Fshop', origin: 'env.php' });
      expect(byName.ASYNC_EVENTS_PORT).toMatchObject({ value: '8080', origin: 'default' });
      expect(byName.ASYNC_EVENTS_HOST).toMatchObject({ value: '127.0.0.1', origin: 'default' });
      expect(byName.ASYNC_EVENTS_API_TOKEN).toMatchObject({ value: 'supe****', origin: 'env' });
      expect(byName['crypt/key']).toMatchObject({ value: '2 key(s), ****', origin: 'env.php' });
      for (const row of rows) expect(row.description.length).toBeGreaterThan(5);
      expect(rows.filter((row) => row.name.startsWith('ASYNC_EVENTS_'))).toHaveLength(17);
      expect(byName.ASYNC_EVENTS_METRICS_PER_SUBSCRIPTION).toMatchObject({ value: '0', origin: 'default' });
    } finally {
      await temp.remove();
    }
  });
});

describe('parseDotEnv', () => {
  it('reads KEY=VALUE lines, quotes, export and comments', () => {
    expect(parseDotEnv('# c\nA=1\n export B = two words \nC="line\\nbreak" # note\nD=\'$raw\\n\'\nE=x # comment\n\nbroken line\nA=last')).toEqual({
      A: 'last',
      B: 'two words',
      C: 'line\nbreak',
      D: '$raw\\n',
      E: 'x',
    });
  });
});
