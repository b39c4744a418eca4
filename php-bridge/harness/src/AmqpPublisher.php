<?php
/**
 * Publishes the way Magento's AMQP publisher does: basic.publish to the configured exchange (default `magento`)
 * with routing key = topic name and exactly two properties, delivery_mode 2 and a 32-hex md5 message_id. The
 * exchange is not declared here; in Magento setup:upgrade's topology installer does that.
 */
declare(strict_types=1);

namespace AsyncEventsHarness;

use Magento\Framework\MessageQueue\PublisherInterface;

final class AmqpPublisher implements PublisherInterface
{
    /** @var list<array{topic: string, body: string, message_id: string}> */
    public array $published = [];

    /**
     * @param array{host: string, port: int, login: string, password: string, vhost: string} $credentials
     */
    public function __construct(
        private readonly MessageEncoder $encoder,
        private readonly array $credentials,
        private readonly string $exchangeName = 'magento'
    ) {
    }

    public function publish($topicName, $data)
    {
        $body = $this->encoder->encode($topicName, $data);
        $messageId = md5(gethostname() . microtime(true) . uniqid($topicName, true));
        $connection = new \AMQPConnection($this->credentials);
        $connection->connect();
        try {
            $channel = new \AMQPChannel($connection);
            $exchange = new \AMQPExchange($channel);
            $exchange->setName($this->exchangeName);
            $exchange->publish($body, $topicName, AMQP_NOPARAM, ['delivery_mode' => 2, 'message_id' => $messageId]);
        } finally {
            $connection->disconnect();
        }
        $this->published[] = ['topic' => $topicName, 'body' => $body, 'message_id' => $messageId];
        return null;
    }
}
