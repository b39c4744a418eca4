<?php
/**
 * Stand-in for Magento's JSON serializer: json_encode/json_decode with default flags, failures as
 * InvalidArgumentException, which is what Magento's class does. Written for this harness.
 */
declare(strict_types=1);

namespace Magento\Framework\Serialize\Serializer;

use Magento\Framework\Serialize\SerializerInterface;

class Json implements SerializerInterface
{
    public function serialize($data)
    {
        $result = json_encode($data);
        if ($result === false) {
            throw new \InvalidArgumentException('Unable to serialize value. Error: ' . json_last_error_msg());
        }
        return $result;
    }

    public function unserialize($string)
    {
        if ($string === '' || $string === null) {
            throw new \InvalidArgumentException('Unable to unserialize value.');
        }
        $result = json_decode((string) $string, true);
        if (json_last_error() !== JSON_ERROR_NONE) {
            throw new \InvalidArgumentException('Unable to unserialize value. Error: ' . json_last_error_msg());
        }
        return $result;
    }
}
