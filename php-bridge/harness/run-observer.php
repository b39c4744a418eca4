<?php
/**
 * Runs an example observer against the GENERATED bridge module and a real transport, the way Magento would:
 * the observer gets the generated MageOS\AsyncEvents\Model\AsyncEventPublisher by constructor injection, and that
 * publisher goes through a PublisherInterface that writes to RabbitMQ (amqp) or Magento's queue tables (db).
 *
 * php run-observer.php --module DIR --mode amqp|db|memory --event NAME --data JSON [--store-id ID] [--observer generic|sales-order]
 *   amqp: [--host 127.0.0.1] [--port 5672] [--user guest] [--password guest] [--vhost /] [--exchange magento]
 *   db:   [--host 127.0.0.1] [--port 3306] [--user root] [--password ''] --dbname NAME [--table-prefix P]
 *         --queues event.trigger[,...]   (queues bound to event.trigger in the generated queue_topology.xml)
 *   both: [--request-type string[]]      (event.trigger's request type in the generated communication.xml)
 *   memory: nothing is sent; the encoded messages are only printed.
 *
 * Prints {"published":[{topic, body, message_id}]} on success; a message on stderr and exit 1 on failure.
 */
declare(strict_types=1);

use AsyncEventsHarness\AmqpPublisher;
use AsyncEventsHarness\Container;
use AsyncEventsHarness\DbPublisher;
use AsyncEventsHarness\MemoryPublisher;
use AsyncEventsHarness\MessageEncoder;
use Example\AsyncEvents\Observer\PublishEventObserver;
use Example\AsyncEvents\Observer\SalesOrderCreatedObserver;
use Magento\Framework\DataObject;
use Magento\Framework\Event\Observer;
use Magento\Framework\MessageQueue\PublisherInterface;

require __DIR__ . '/bootstrap.php';

function fail(string $message, int $code = 1): never
{
    fwrite(STDERR, $message . PHP_EOL);
    exit($code);
}

$options = getopt('', [
    'module:', 'mode:', 'event:', 'data:', 'store-id:', 'observer:', 'request-type:',
    'host:', 'port:', 'user:', 'password:', 'vhost:', 'exchange:', 'dbname:', 'table-prefix:', 'queues:',
]);
$option = static fn (string $name, ?string $default = null): ?string =>
    isset($options[$name]) ? (is_array($options[$name]) ? (string) end($options[$name]) : (string) $options[$name]) : $default;

$moduleDir = $option('module') ?? fail('--module DIR (the generated bridge module) is required', 2);
if (!is_file($moduleDir . '/Model/AsyncEventPublisher.php')) {
    fail("--module $moduleDir has no Model/AsyncEventPublisher.php; run `async-events generate --out DIR` first", 2);
}
$mode = $option('mode') ?? fail('--mode amqp|db|memory is required', 2);
$eventName = $option('event') ?? fail('--event NAME is required', 2);
$arguments = json_decode($option('data', '{}'), true);
if (!is_array($arguments)) {
    fail('--data must be a JSON object of the service arguments, e.g. {"id":42}', 2);
}
$storeId = $option('store-id');
if ($storeId !== null && preg_match('/^\d+$/', $storeId)) {
    $storeId = (int) $storeId; // what observers usually pass: $order->getStoreId() cast to int
}

async_events_harness_autoload($moduleDir);
$encoder = new MessageEncoder(['event.trigger' => $option('request-type', 'string[]')]);

try {
    if ($mode === 'amqp') {
        $publisher = new AmqpPublisher($encoder, [
            'host' => $option('host', '127.0.0.1'),
            'port' => (int) $option('port', '5672'),
            'login' => $option('user', 'guest'),
            'password' => $option('password', 'guest'),
            'vhost' => $option('vhost', '/'),
        ], $option('exchange', 'magento'));
    } elseif ($mode === 'db') {
        $dbname = $option('dbname') ?? fail('--dbname is required in db mode', 2);
        $queues = $option('queues') ?? fail('--queues is required in db mode (queues bound to event.trigger)', 2);
        $pdo = new PDO(
            sprintf('mysql:host=%s;port=%d;dbname=%s;charset=utf8mb4', $option('host', '127.0.0.1'), (int) $option('port', '3306'), $dbname),
            $option('user', 'root'),
            $option('password', ''),
            [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]
        );
        $publisher = new DbPublisher($encoder, $pdo, ['event.trigger' => array_values(array_filter(explode(',', $queues)))], $option('table-prefix', ''));
    } elseif ($mode === 'memory') {
        $publisher = new MemoryPublisher($encoder);
    } else {
        fail("--mode must be amqp, db or memory, not \"$mode\"", 2);
    }

    $container = new Container();
    $container->set(PublisherInterface::class, $publisher);
    if ($option('observer', 'generic') === 'sales-order') {
        $observer = $container->get(SalesOrderCreatedObserver::class);
        $observer->execute(new Observer(['order' => new DataObject(['id' => $arguments['id'] ?? null])]));
    } else {
        $observer = $container->get(PublishEventObserver::class);
        $observer->execute(new Observer(['async_event_name' => $eventName, 'arguments' => $arguments, 'store_id' => $storeId]));
    }
} catch (Throwable $error) {
    fail(get_class($error) . ': ' . $error->getMessage());
}

echo json_encode(['published' => $publisher->published], JSON_UNESCAPED_SLASHES), PHP_EOL;
