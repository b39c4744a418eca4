import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAsyncEventsError } from '../../src/errors.ts';
import { evaluatePhpReturn, readPhpArrayFile } from '../../src/config/php-array.ts';
import { describeWith } from '../support/services.ts';
import { EXAMPLE_ROOT } from './magento-fixture.ts';

const ENV_PHP_LIKE = `<?php
/* Magento-style env.php with every literal form we claim to read */
declare(strict_types=1);
return [
    'backend' => ['frontName' => 'admin_x1'],
    'db' => array(
        'table_prefix' => '',
        'connection' => [
            'default' => [
                'host' => 'db:3307',
                'dbname' => "magento",
                'username' => 'mage',
                'password' => 'p\\'a"ss\\\\',
                'active' => '1',
                'driver_options' => [\\PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT => false, PDO::MYSQL_ATTR_SSL_CA => '/etc/ca.pem'],
            ],
        ],
    ),
    'crypt' => ['key' => "0123456789abcdef0123456789abcdef\\nfedcba9876543210fedcba9876543210"],
    'numbers' => [1, -2, 0x1F, 0b101, 0o17, 017, 1_000_000, 1.5, -2.25e3, .5],
    'literals' => [true, FALSE, null, NULL, 'True'],
    'keys' => [5 => 'five', 'six', '7' => 'seven', '08' => 'string key', true => 'one', null => 'empty', 2.9 => 'two'],
    'overwrite' => ['a' => 1, 'b' => 2, 'a' => 3],
    'concat' => 'base' . '_' . 42 . '_' . 1.5 . true . false . null,
    'escapes' => "tab\\tnew\\nline \\x41\\101\\u{263A} \\$dollar",
    'single' => 'no \\n escape \\\\ here',
    'heredoc' => <<<TXT
  multi
  line
  TXT,
    'nowdoc' => <<<'TXT'
raw \\n $text
TXT,
    'empty' => [],
    'list' => ['x', 'y', 'z'],
];
`;

describe('evaluatePhpReturn', () => {
  it('reads arrays, strings, numbers, booleans, null and concatenation', () => {
    const value = evaluatePhpReturn(ENV_PHP_LIKE, 'env.php') as Record<string, unknown>;
    expect(value.backend).toEqual({ frontName: 'admin_x1' });
    expect(value.numbers).toEqual([1, -2, 31, 5, 15, 15, 1000000, 1.5, -2250, 0.5]);
    expect(value.literals).toEqual([true, false, null, null, 'True']);
    expect(value.keys).toEqual({ 5: 'five', 6: 'six', 7: 'seven', '08': 'string key', 1: 'one', '': 'empty', 2: 'two' });
    expect(value.overwrite).toEqual({ a: 3, b: 2 });
    expect(Object.keys(value.overwrite as object)).toEqual(['a', 'b']);
    expect(value.concat).toBe('base_42_1.51');
    expect(value.escapes).toBe('tab\tnew\nline AA\u263A $dollar');
    expect(value.single).toBe('no \\n escape \\ here');
    expect(value.heredoc).toBe('multi\nline');
    expect(value.nowdoc).toBe('raw \\n $text');
    expect(value.empty).toEqual([]);
    expect(value.list).toEqual(['x', 'y', 'z']);
    expect((value.db as { connection: { default: { driver_options: unknown } } }).connection.default.driver_options).toEqual({ 1014: false, 1009: '/etc/ca.pem' });
  });

  it.each([
    ["    'a' => getenv('DB_HOST'),", 'a function call'],
    ["    'a' => $host,", 'the variable $host'],
    ["    'a' => 1 + 2,", "the operator '+'"],
    ["    'a' => BP . '/var',", 'the constant BP'],
    ["    'a' => \"db-{$env}\",", 'variable interpolation'],
    ["    'a' => Foo::BAR,", 'the class constant Foo::BAR'],
  ])('refuses %s with file:line', (line, what) => {
    const code = `<?php\nreturn [\n    'ok' => 1,\n${line}\n];\n`;
    let caught: unknown;
    try {
      evaluatePhpReturn(code, 'app/etc/env.php');
    } catch (thrown) {
      caught = thrown;
    }
    expect(isAsyncEventsError(caught, 'CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toContain('app/etc/env.php:4: ');
    expect((caught as Error).message).toContain(what);
  });

  it('reports PHP syntax errors with their line', () => {
    expect(() => evaluatePhpReturn("<?php\nreturn [\n  'a' => 1,\n  'b' => ,\n];\n", 'app/etc/config.php')).toThrow(/^app\/etc\/config\.php:4: PHP syntax error/);
  });

  it('refuses files without a return and statements before it', () => {
    expect(() => evaluatePhpReturn('<?php\n$x = 1;\n', 'x.php')).toThrow(/x\.php:2: .*'expressionstatement' statement/);
    expect(() => evaluatePhpReturn('<?php\n// nothing\n', 'y.php')).toThrow(/y\.php:1: no 'return/);
  });

  it('reads a file and names it in errors', async () => {
    await expect(readPhpArrayFile('/nonexistent/env.php', 'app/etc/env.php')).rejects.toThrow(/app\/etc\/env\.php: cannot read/);
  });
});

describeWith(['php'], 'evaluatePhpReturn agrees with PHP itself', () => {
  const phpJson = (file: string): unknown =>
    JSON.parse(execFileSync('php', ['-r', 'echo json_encode(include $argv[1], JSON_PRESERVE_ZERO_FRACTION);', file], { encoding: 'utf8' }));

  it('on a file using every supported form', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ae-php-'));
    const file = path.join(dir, 'env.php');
    writeFileSync(file, ENV_PHP_LIKE);
    expect(evaluatePhpReturn(ENV_PHP_LIKE, 'env.php')).toEqual(phpJson(file));
  });

  it('on the example config.php', async () => {
    const file = path.join(EXAMPLE_ROOT, 'app/etc/config.php');
    expect(await readPhpArrayFile(file)).toEqual(phpJson(file));
  });
});
