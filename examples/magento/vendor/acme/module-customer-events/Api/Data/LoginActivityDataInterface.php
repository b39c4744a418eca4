<?php
declare(strict_types=1);

namespace Acme\CustomerEvents\Api\Data;

/**
 * One customer login.
 *
 * @api
 */
interface LoginActivityDataInterface
{
    /**
     * @return int
     */
    public function getCustomerId();

    /**
     * @return string
     */
    public function getEmail();

    /**
     * Login time, `Y-m-d H:i:s` UTC.
     *
     * @return string
     */
    public function getLoggedInAt();

    /**
     * @return string|null
     */
    public function getRemoteIp();

    /**
     * @return int
     */
    public function getStoreId();
}
