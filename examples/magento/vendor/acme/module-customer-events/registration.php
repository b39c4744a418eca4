<?php
/**
 * Registers the module with Magento's component registrar.
 */
use Magento\Framework\Component\ComponentRegistrar;

ComponentRegistrar::register(ComponentRegistrar::MODULE, 'Acme_CustomerEvents', __DIR__);
