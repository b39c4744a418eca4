<?php
/**
 * Module list as `bin/magento setup:upgrade` writes it: dependency (sequence) order, 1 = enabled, 0 = disabled.
 */
return [
    'modules' => [
        'Magento_Store' => 1,
        'Magento_Customer' => 1,
        'Magento_Catalog' => 1,
        'Magento_Sales' => 1,
        'Acme_CustomerEvents' => 1,
        'Acme_OrderEvents' => 1,
        'Acme_Legacy' => 0,
    ],
    'system' => [
        'default' => [
            'general' => [
                'locale' => [
                    'code' => 'en_US',
                    'timezone' => 'UTC',
                ],
            ],
        ],
    ],
];
