<?php
/**
 * A few lines of Magento-style constructor injection: build a class by giving each constructor parameter the
 * instance registered for its declared type. Enough to construct the generated publisher and an observer the way
 * Magento's object manager would, without depending on the order of their parameters.
 */
declare(strict_types=1);

namespace AsyncEventsHarness;

final class Container
{
    /** @var array<string, object> */
    private array $instances = [];

    public function set(string $type, object $instance): void
    {
        $this->instances[ltrim($type, '\\')] = $instance;
    }

    public function get(string $type): object
    {
        $type = ltrim($type, '\\');
        return $this->instances[$type] ??= $this->create($type);
    }

    private function create(string $class): object
    {
        $reflection = new \ReflectionClass($class);
        if (!$reflection->isInstantiable()) {
            throw new \LogicException(sprintf('nothing registered for %s and it cannot be instantiated', $class));
        }
        $arguments = [];
        foreach ($reflection->getConstructor()?->getParameters() ?? [] as $parameter) {
            $type = $parameter->getType();
            if (!$type instanceof \ReflectionNamedType || $type->isBuiltin()) {
                throw new \LogicException(sprintf('%s::__construct() parameter $%s has no class type', $class, $parameter->getName()));
            }
            $arguments[] = $this->get($type->getName());
        }
        return $reflection->newInstanceArgs($arguments);
    }
}
