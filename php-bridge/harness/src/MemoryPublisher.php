<?php
/**
 * Encodes like the real publishers and keeps the messages, for checks that need no broker or database.
 */
declare(strict_types=1);

namespace AsyncEventsHarness;

use Magento\Framework\MessageQueue\PublisherInterface;

final class MemoryPublisher implements PublisherInterface
{
    /** @var list<array{topic: string, body: string}> */
    public array $published = [];

    public function __construct(private readonly MessageEncoder $encoder)
    {
    }

    public function publish($topicName, $data)
    {
        $this->published[] = ['topic' => $topicName, 'body' => $this->encoder->encode($topicName, $data)];
        return null;
    }
}
