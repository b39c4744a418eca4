<?php
declare(strict_types=1);

namespace Acme\CustomerEvents\Api;

/**
 * Data of the customer.login event: who logged in, when, and from where.
 *
 * @api
 */
interface LoginActivityInterface
{
    /**
     * Latest login of a customer.
     *
     * @param int $customerId
     * @return \Acme\CustomerEvents\Api\Data\LoginActivityDataInterface
     * @throws \Magento\Framework\Exception\NoSuchEntityException
     */
    public function getByCustomerId(int $customerId);
}
