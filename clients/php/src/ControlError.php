<?php

namespace RedpackSim;

/** A control call answered 4xx/5xx: status, doc (the decoded JSON answer, or the text), method, path. */
class ControlError extends \RuntimeException
{
    /** @var string */
    public $method;
    /** @var string */
    public $path;
    /** @var int */
    public $status;
    /** @var mixed */
    public $doc;

    /** @param mixed $doc */
    public function __construct(string $method, string $path, int $status, $doc)
    {
        $this->method = $method;
        $this->path = $path;
        $this->status = $status;
        $this->doc = $doc;
        $what = is_array($doc) && isset($doc['error']) ? $doc['error'] : (is_string($doc) ? $doc : json_encode($doc));
        parent::__construct(sprintf('%s %s answered %d: %s', $method, $path, $status, $what));
    }
}
