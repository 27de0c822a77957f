<?php
// The PSR-4 autoloader of RedpackSim\ for use without Composer:
//   require 'clients/php/src/autoload.php';
// (with Composer, "autoload": {"psr-4": {"RedpackSim\\": "src/"}} does the same).
spl_autoload_register(static function (string $class): void {
    $prefix = 'RedpackSim\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
