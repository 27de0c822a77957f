<?php

namespace RedpackSim;

/** The business clock: $control->clock. */
class ControlClock
{
    /** @var Control */
    private $c;

    public function __construct(Control $control)
    {
        $this->c = $control;
    }

    /** ['now' => '...+08:00', 'epoch' => N, 'offset_seconds' => N] */
    public function get(): array
    {
        return $this->c->call('GET', '/admin/v1/clock');
    }

    /** Moves the business clock forwards; due expiries and refunds run first. */
    public function advance(int $seconds): array
    {
        return $this->c->call('POST', '/admin/v1/clock', ['advance_seconds' => $seconds]);
    }

    /**
     * Sets the business clock to $now (ISO 8601 with offset, or a DateTimeInterface);
     * backwards is a ControlError 409.
     *
     * @param string|\DateTimeInterface $now
     */
    public function set($now): array
    {
        if ($now instanceof \DateTimeInterface) {
            $now = $now->format(DATE_ATOM);
        }
        return $this->c->call('POST', '/admin/v1/clock', ['now' => (string) $now]);
    }
}
