<?php

namespace RedpackSim;

/** A merchant's balance, limits and switches: $control->merchant. */
class ControlMerchant
{
    /** @var Control */
    private $c;

    public function __construct(Control $control)
    {
        $this->c = $control;
    }

    /** Balance, limits, api_enabled, ip_allowlist. */
    public function get(string $mchId): array
    {
        return $this->c->call('GET', '/admin/v1/merchants/' . rawurlencode($mchId));
    }

    /** Any of balance => N, topup => N, limits => [...], api_enabled => bool, ip_allowlist => [...]. */
    public function update(string $mchId, array $changes): array
    {
        return $this->c->call('PUT', '/admin/v1/merchants/' . rawurlencode($mchId), $changes);
    }
}
