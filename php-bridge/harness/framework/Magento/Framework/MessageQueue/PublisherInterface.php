<?php
/**
 * Stand-in for Magento's publisher contract (magento/framework-message-queue), just enough for the generated
 * publisher to be loaded and run outside Magento. Written for this harness.
 */
declare(strict_types=1);

namespace Magento\Framework\MessageQueue;

interface PublisherInterface
{
    /**
     * @param string $topicName
     * @param array|object $data
     * @return null|mixed
     */
    public function publish($topicName, $data);
}
