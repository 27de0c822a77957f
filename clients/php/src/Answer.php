<?php

namespace RedpackSim;

/**
 * An answer of the merchant API: its fields as an array ($answer['result_code'],
 * or $answer->fields), with status (HTTP), body (the raw XML), request (the fields
 * sent) and endpoint.
 */
class Answer implements \ArrayAccess, \Countable, \IteratorAggregate
{
    /** @var array<string, mixed> */
    public $fields;
    /** @var int */
    public $status;
    /** @var string */
    public $body;
    /** @var array<string, string> */
    public $request;
    /** @var string */
    public $endpoint;

    public function __construct(array $fields, int $status, string $body, array $request, string $endpoint)
    {
        $this->fields = $fields;
        $this->status = $status;
        $this->body = $body;
        $this->request = $request;
        $this->endpoint = $endpoint;
    }

    /** True when return_code and result_code are both SUCCESS. */
    public function ok(): bool
    {
        return ($this->fields['return_code'] ?? null) === 'SUCCESS'
            && ($this->fields['result_code'] ?? null) === 'SUCCESS';
    }

    public function offsetExists($offset): bool
    {
        return isset($this->fields[$offset]);
    }

    #[\ReturnTypeWillChange]
    public function offsetGet($offset)
    {
        return $this->fields[$offset] ?? null;
    }

    public function offsetSet($offset, $value): void
    {
        throw new \LogicException('an Answer is read-only');
    }

    public function offsetUnset($offset): void
    {
        throw new \LogicException('an Answer is read-only');
    }

    public function count(): int
    {
        return count($this->fields);
    }

    public function getIterator(): \ArrayIterator
    {
        return new \ArrayIterator($this->fields);
    }

    public function __toString(): string
    {
        return sprintf('HTTP %d %s', $this->status, json_encode($this->fields, JSON_UNESCAPED_UNICODE));
    }
}
