<?php
/**
 * An observer as Mage-OS Async Events' README tells people to write one. It must keep working, untouched, with
 * the generated bridge module in place of the upstream module.
 */
declare(strict_types=1);

namespace Example\AsyncEvents\Observer;

use Magento\Framework\Event\Observer;
use Magento\Framework\Event\ObserverInterface;
use Magento\Sales\Model\Order;
use \MageOS\AsyncEvents\Model\AsyncEventPublisher;

class SalesOrderCreatedObserver implements ObserverInterface
{
    public function __construct(private readonly AsyncEventPublisher $asyncEventPublisher)
    {
    }

    public function execute(Observer $observer): void
    {
        /** @var Order $order */
        $order = $observer->getData('order');
        // The arguments of the event's service, Magento\Sales\Api\OrderRepositoryInterface::get($id).
        $message = ['id' => $order->getId()];
        $this->asyncEventPublisher->publish('sales.order.created', $message);
    }
}
