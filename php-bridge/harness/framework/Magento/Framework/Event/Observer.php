<?php
/**
 * Stand-in for Magento's event observer argument. Written for this harness.
 */
declare(strict_types=1);

namespace Magento\Framework\Event;

use Magento\Framework\DataObject;

class Observer extends DataObject
{
    public function getEvent(): DataObject
    {
        return $this;
    }
}
