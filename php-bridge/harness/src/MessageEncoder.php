<?php
/**
 * What Magento's publisher does to a message before it reaches a transport: check the type declared in
 * communication.xml (for `X[]` only element 0 is checked, as Magento's MessageValidator does), re-index arrays (as
 * ServiceOutputProcessor::convertValue does) and json_encode with default flags.
 */
declare(strict_types=1);

namespace AsyncEventsHarness;

final class MessageEncoder
{
    /**
     * @param array<string, string> $requestTypes topic => communication.xml request type, e.g. 'string[]'
     */
    public function __construct(private readonly array $requestTypes)
    {
    }

    public function encode(string $topic, mixed $data): string
    {
        $type = $this->requestTypes[$topic] ?? null;
        if ($type === null) {
            throw new \LogicException(sprintf('Specified topic "%s" is not declared.', $topic));
        }
        if (str_ends_with($type, '[]')) {
            if (!is_array($data)) {
                throw new \InvalidArgumentException(sprintf('Data in topic "%s" must be of type "%s". "%s" given.', $topic, $type, get_debug_type($data)));
            }
            $element = substr($type, 0, -2);
            $first = reset($data);
            if ($first !== false && !self::isOfType($first, $element)) {
                throw new \InvalidArgumentException(sprintf('Data in topic "%s" must be of type "%s". "%s" given.', $topic, $type, get_debug_type($first) . '[]'));
            }
            $data = array_values($data);
        } elseif (!self::isOfType($data, $type)) {
            throw new \InvalidArgumentException(sprintf('Data in topic "%s" must be of type "%s". "%s" given.', $topic, $type, get_debug_type($data)));
        }
        $body = json_encode($data);
        if ($body === false) {
            throw new \InvalidArgumentException('Unable to serialize value. Error: ' . json_last_error_msg());
        }
        return $body;
    }

    private static function isOfType(mixed $value, string $type): bool
    {
        return match ($type) {
            'string' => is_string($value),
            'int' => is_int($value),
            'bool' => is_bool($value),
            'float' => is_float($value),
            default => is_object($value) || is_array($value),
        };
    }
}
