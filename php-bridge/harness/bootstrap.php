<?php
/**
 * Autoloading for the harness: Magento stand-ins, the harness itself, the example observers, and the GENERATED
 * module under its Composer PSR-4 mapping (MageOS\AsyncEvents\ => module root), so the generated files are loaded
 * exactly by the paths Composer would use.
 */
declare(strict_types=1);

function async_events_harness_autoload(string $moduleDir): void
{
    $roots = [
        'MageOS\\AsyncEvents\\' => rtrim($moduleDir, '/') . '/',
        'AsyncEventsHarness\\' => __DIR__ . '/src/',
        'Example\\AsyncEvents\\' => __DIR__ . '/example/',
        'Magento\\Framework\\' => __DIR__ . '/framework/Magento/Framework/',
    ];
    spl_autoload_register(static function (string $class) use ($roots): void {
        foreach ($roots as $prefix => $dir) {
            if (str_starts_with($class, $prefix)) {
                $file = $dir . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
                if (is_file($file)) {
                    require $file;
                }
                return;
            }
        }
    });
}
