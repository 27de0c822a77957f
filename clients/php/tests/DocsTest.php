<?php

namespace RedpackSim\Tests;

use PHPUnit\Framework\TestCase;

/** docs/test-helpers.md shows the examples as they are; the wechatpay-php one is valid PHP. */
final class DocsTest extends TestCase
{
    private const EXAMPLES = __DIR__ . '/../examples/';
    private const DOC = __DIR__ . '/../../../docs/test-helpers.md';

    public function testTheWechatpayPhpExampleIsValidPhp(): void
    {
        $cmd = escapeshellarg(PHP_BINARY) . ' -l ' . escapeshellarg(self::EXAMPLES . 'wechatpay-php.php') . ' 2>&1';
        exec($cmd, $out, $rc);
        $this->assertSame(0, $rc, implode("\n", $out));
    }

    /** @return array<string, array{string}> */
    public function examples(): array
    {
        return ['runnable test' => ['RedpackExampleTest.php'], 'wechatpay-php' => ['wechatpay-php.php']];
    }

    /** @dataProvider examples */
    public function testTheDocsShowTheExample(string $file): void
    {
        if (!is_file(self::DOC)) {
            $this->markTestSkipped('not in the redpack-sim source tree');
        }
        $example = (string) file_get_contents(self::EXAMPLES . $file);
        $this->assertStringContainsString("```php\n" . $example . "```", (string) file_get_contents(self::DOC),
            "docs/test-helpers.md: the PHP example differs from clients/php/examples/$file");
    }
}
