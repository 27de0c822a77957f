<?php
// The helper without Composer (with it: vendor/autoload.php).
require __DIR__ . '/../src/autoload.php';
