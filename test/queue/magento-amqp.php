<?php
// What Magento's TopologyInstaller (from upstream's etc/queue_topology.xml) and upstream's RetryManager do on
// RabbitMQ, through PHP's amqp extension: same names, flags and arguments, and an upstream retry publish.
// Usage: php magento-amqp.php VHOST declare|retry DEATH_COUNT BACKOFF BODY
[$script, $vhost, $action] = $argv;
$connection = new AMQPConnection(['host' => '127.0.0.1', 'port' => (int) (getenv('ASYNC_EVENTS_TEST_RABBITMQ_PORT') ?: 5672), 'vhost' => $vhost, 'login' => 'guest', 'password' => 'guest']);
$connection->connect();
$channel = new AMQPChannel($connection);

function exchange(AMQPChannel $channel, string $name): AMQPExchange {
    $exchange = new AMQPExchange($channel);
    $exchange->setName($name);
    $exchange->setType(AMQP_EX_TYPE_TOPIC);
    $exchange->setFlags(AMQP_DURABLE);
    $exchange->declareExchange();
    return $exchange;
}

function queue(AMQPChannel $channel, string $name, int $flags, array $arguments, string $exchange, string $key): void {
    $queue = new AMQPQueue($channel);
    $queue->setName($name);
    $queue->setFlags($flags);
    $queue->setArguments($arguments);
    $queue->declareQueue();
    $queue->bind($exchange, $key);
}

function delayQueue(AMQPChannel $channel, int $backoff, string $name, string $key): void {
    $backoff = abs($backoff);
    queue($channel, $name, AMQP_DURABLE | AMQP_AUTODELETE, [
        'x-dead-letter-exchange' => 'event.failover',
        'x-dead-letter-routing-key' => 'event.retry',
        'x-message-ttl' => $backoff * 1000,
        'x-expires' => $backoff * 1000 * 2,
    ], 'event.failover', $key);
}

if ($action === 'declare') {
    exchange($channel, 'magento');
    queue($channel, 'event.trigger', AMQP_DURABLE, [], 'magento', 'event.trigger');
    exchange($channel, 'event.failover');
    queue($channel, 'event.failover.retry', AMQP_DURABLE, [], 'event.failover', 'event.retry');
    queue($channel, 'event.failover.deadletter', AMQP_DURABLE, [], 'event.failover', 'event.retry.kill');
    delayQueue($channel, 1, 'event.retry.init', 'event.retry.init');
    delayQueue($channel, 4, 'event.delay.4', 'event.retry.4');
} elseif ($action === 'retry') {
    [, , , $deathCount, $backoff, $body] = $argv;
    $deathCount = (int) $deathCount;
    [$name, $key] = $deathCount === 1 ? ['event.retry.init', 'event.retry.init'] : ['event.delay.' . $backoff, 'event.retry.' . $backoff];
    delayQueue($channel, (int) $backoff, $name, $key);
    $failover = new AMQPExchange($channel);
    $failover->setName('event.failover');
    $failover->publish($body, $key, AMQP_NOPARAM, [
        'delivery_mode' => 2,
        'message_id' => md5(uniqid($key)),
        'headers' => ['x-retry-count' => $deathCount],
    ]);
}
$connection->disconnect();
echo "ok\n";
