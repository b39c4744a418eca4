<?php
/**
 * Publishes the way Magento_MysqlMq does: one `queue_message` row (topic_name, body), then one
 * `queue_message_status` row with status 2 (new) for every queue bound to the topic that has a `queue` row.
 * Nothing else is stored: AMQP properties such as message_id do not exist in the database queue.
 */
declare(strict_types=1);

namespace AsyncEventsHarness;

use Magento\Framework\MessageQueue\PublisherInterface;

final class DbPublisher implements PublisherInterface
{
    private const STATUS_NEW = 2;

    /** @var list<array{topic: string, body: string, message_id: int}> */
    public array $published = [];

    /**
     * @param array<string, list<string>> $queuesByTopic topic => queue names bound to it (exact topic match)
     */
    public function __construct(
        private readonly MessageEncoder $encoder,
        private readonly \PDO $pdo,
        private readonly array $queuesByTopic,
        private readonly string $tablePrefix = ''
    ) {
        if (!preg_match('/^[A-Za-z0-9_]*$/', $tablePrefix)) {
            throw new \InvalidArgumentException(sprintf('table prefix "%s" may contain only [A-Za-z0-9_]', $tablePrefix));
        }
    }

    public function publish($topicName, $data)
    {
        $body = $this->encoder->encode($topicName, $data);
        $insert = $this->pdo->prepare(sprintf('INSERT INTO `%s` (topic_name, body) VALUES (?, ?)', $this->table('queue_message')));
        $insert->execute([$topicName, $body]);
        $messageId = (int) $this->pdo->lastInsertId();
        $queueNames = $this->queuesByTopic[$topicName] ?? [];
        if ($queueNames !== []) {
            $placeholders = implode(', ', array_fill(0, count($queueNames), '?'));
            $select = $this->pdo->prepare(sprintf('SELECT id FROM `%s` WHERE name IN (%s)', $this->table('queue'), $placeholders));
            $select->execute($queueNames);
            $link = $this->pdo->prepare(sprintf('INSERT INTO `%s` (queue_id, message_id, status) VALUES (?, ?, ?)', $this->table('queue_message_status')));
            foreach ($select->fetchAll(\PDO::FETCH_COLUMN) as $queueId) {
                $link->execute([(int) $queueId, $messageId, self::STATUS_NEW]);
            }
        }
        $this->published[] = ['topic' => $topicName, 'body' => $body, 'message_id' => $messageId];
        return null;
    }

    private function table(string $name): string
    {
        return $this->tablePrefix . $name;
    }
}
