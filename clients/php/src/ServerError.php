<?php

namespace RedpackSim;

/** The server could not be found, started, or stopped cleanly. */
class ServerError extends \RuntimeException
{
}
