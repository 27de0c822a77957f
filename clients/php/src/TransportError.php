<?php

namespace RedpackSim;

/** A request got no HTTP answer (curl's error; its number is getCode(), e.g. 56 for a reset). */
class TransportError extends \RuntimeException
{
}
