<?php
/**
 * Stand-in for Magento's observer contract. Written for this harness.
 */
declare(strict_types=1);

namespace Magento\Framework\Event;

interface ObserverInterface
{
    /**
     * @param Observer $observer
     * @return void
     */
    public function execute(Observer $observer);
}
