<?php
/**
 * The same pattern for any event: the event name, the service arguments and (optionally) the store id come from
 * the observed event's data, so the harness can publish whatever a test asks for.
 */
declare(strict_types=1);

namespace Example\AsyncEvents\Observer;

use Magento\Framework\Event\Observer;
use Magento\Framework\Event\ObserverInterface;
use MageOS\AsyncEvents\Model\AsyncEventPublisher;

class PublishEventObserver implements ObserverInterface
{
    public function __construct(private readonly AsyncEventPublisher $asyncEventPublisher)
    {
    }

    public function execute(Observer $observer): void
    {
        $eventName = (string) $observer->getData('async_event_name');
        $arguments = (array) $observer->getData('arguments');
        $storeId = $observer->getData('store_id');
        if ($storeId === null) {
            $this->asyncEventPublisher->publish($eventName, $arguments);
            return;
        }
        $this->asyncEventPublisher->publish($eventName, $arguments, $storeId);
    }
}
