<?php
/**
 * Stand-in for Magento's serializer contract. Written for this harness.
 */
declare(strict_types=1);

namespace Magento\Framework\Serialize;

interface SerializerInterface
{
    /**
     * @param string|int|float|bool|array|null $data
     * @return string|bool
     */
    public function serialize($data);

    /**
     * @param string $string
     * @return string|int|float|bool|array|null
     */
    public function unserialize($string);
}
